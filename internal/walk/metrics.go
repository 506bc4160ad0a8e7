package walk

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

func (w *Walker) walkMetrics(ctx context.Context, md pmetric.Metrics, strs bool, p Pass) error {
	if err := w.begin(ctx, SignalMetrics, strs, p); err != nil {
		return err
	}
	defer w.end()
	rms := md.ResourceMetrics()
	base := len(w.del)
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		if w.SkipResource != nil && w.SkipResource(rm.Resource()) {
			continue
		}
		if err := w.resource(rm.Resource()); err != nil {
			return err
		}
		emptied, err := w.scopeMetrics(rm.ScopeMetrics())
		if err != nil {
			return err
		}
		if emptied {
			w.del = append(w.del, i)
		}
	}
	if len(w.del) > base {
		d := w.pending(base)
		rms.RemoveIf(func(pmetric.ResourceMetrics) bool { return d.drop() })
	}
	return nil
}

func (w *Walker) scopeMetrics(sms pmetric.ScopeMetricsSlice) (emptied bool, err error) {
	base := len(w.del)
	for j := 0; j < sms.Len(); j++ {
		sm := sms.At(j)
		if err := w.scope(sm.Scope()); err != nil {
			return false, err
		}
		gone, err := w.metrics(sm.Metrics())
		if err != nil {
			return false, err
		}
		if gone {
			w.del = append(w.del, j)
		}
	}
	if len(w.del) == base {
		return false, nil
	}
	d := w.pending(base)
	sms.RemoveIf(func(pmetric.ScopeMetrics) bool { return d.drop() })
	return sms.Len() == 0, nil
}

func (w *Walker) metrics(ms pmetric.MetricSlice) (emptied bool, err error) {
	base := len(w.del)
	for k := 0; k < ms.Len(); k++ {
		gone, err := w.metric(ms.At(k))
		if err != nil {
			return false, err
		}
		if gone {
			w.del = append(w.del, k)
		}
	}
	if len(w.del) == base {
		return false, nil
	}
	d := w.pending(base)
	ms.RemoveIf(func(pmetric.Metric) bool { return d.drop() })
	return ms.Len() == 0, nil
}

// metric walks one metric and its points; it reports whether the element hook dropped every
// point, which removes the metric.
func (w *Walker) metric(m pmetric.Metric) (emptied bool, err error) {
	if w.visit.Has(LevelMetric) {
		if w.wants(LevelMetric, FieldDescription) && m.Description() != "" {
			if s, ok := w.visitRoot(LevelMetric, FieldDescription, m.Description()); ok {
				m.SetDescription(s)
			}
		}
		if err := w.attrs(LevelMetric, m.Metadata()); err != nil {
			return false, err
		}
	}
	if w.elements != nil {
		w.elem.Metric = m
		w.elem.NumberDataPoint = pmetric.NumberDataPoint{}
		w.elem.HistogramDataPoint = pmetric.HistogramDataPoint{}
		w.elem.ExponentialHistogramDataPoint = pmetric.ExponentialHistogramDataPoint{}
		w.elem.SummaryDataPoint = pmetric.SummaryDataPoint{}
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return w.numberPoints(m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		return w.numberPoints(m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		return w.histogramPoints(m.Histogram().DataPoints())
	case pmetric.MetricTypeExponentialHistogram:
		return w.expHistogramPoints(m.ExponentialHistogram().DataPoints())
	case pmetric.MetricTypeSummary:
		return w.summaryPoints(m.Summary().DataPoints())
	}
	return false, nil
}

func (w *Walker) numberPoints(dps pmetric.NumberDataPointSlice) (emptied bool, err error) {
	base := len(w.del)
	n := dps.Len() // points that the hook appends (an overflow point) are not shown to it
	for i := 0; i < n; i++ {
		dp := dps.At(i)
		if err := w.attrs(LevelDataPoint, dp.Attributes()); err != nil {
			return false, err
		}
		if err := w.exemplars(dp.Exemplars()); err != nil {
			return false, err
		}
		if w.elements != nil {
			w.elem.NumberDataPoint, w.elem.Attributes = dp, dp.Attributes()
			if err := w.element(LevelDataPoint, i); err != nil {
				return false, err
			}
		}
	}
	if len(w.del) == base {
		return false, nil
	}
	d := w.pending(base)
	dps.RemoveIf(func(pmetric.NumberDataPoint) bool { return d.drop() })
	return dps.Len() == 0, nil
}

func (w *Walker) histogramPoints(dps pmetric.HistogramDataPointSlice) (emptied bool, err error) {
	base := len(w.del)
	n := dps.Len()
	for i := 0; i < n; i++ {
		dp := dps.At(i)
		if err := w.attrs(LevelDataPoint, dp.Attributes()); err != nil {
			return false, err
		}
		if err := w.exemplars(dp.Exemplars()); err != nil {
			return false, err
		}
		if w.elements != nil {
			w.elem.HistogramDataPoint, w.elem.Attributes = dp, dp.Attributes()
			if err := w.element(LevelDataPoint, i); err != nil {
				return false, err
			}
		}
	}
	if len(w.del) == base {
		return false, nil
	}
	d := w.pending(base)
	dps.RemoveIf(func(pmetric.HistogramDataPoint) bool { return d.drop() })
	return dps.Len() == 0, nil
}

func (w *Walker) expHistogramPoints(dps pmetric.ExponentialHistogramDataPointSlice) (emptied bool, err error) {
	base := len(w.del)
	n := dps.Len()
	for i := 0; i < n; i++ {
		dp := dps.At(i)
		if err := w.attrs(LevelDataPoint, dp.Attributes()); err != nil {
			return false, err
		}
		if err := w.exemplars(dp.Exemplars()); err != nil {
			return false, err
		}
		if w.elements != nil {
			w.elem.ExponentialHistogramDataPoint, w.elem.Attributes = dp, dp.Attributes()
			if err := w.element(LevelDataPoint, i); err != nil {
				return false, err
			}
		}
	}
	if len(w.del) == base {
		return false, nil
	}
	d := w.pending(base)
	dps.RemoveIf(func(pmetric.ExponentialHistogramDataPoint) bool { return d.drop() })
	return dps.Len() == 0, nil
}

func (w *Walker) summaryPoints(dps pmetric.SummaryDataPointSlice) (emptied bool, err error) {
	base := len(w.del)
	n := dps.Len()
	for i := 0; i < n; i++ {
		dp := dps.At(i)
		if err := w.attrs(LevelDataPoint, dp.Attributes()); err != nil {
			return false, err
		}
		if w.elements != nil {
			w.elem.SummaryDataPoint, w.elem.Attributes = dp, dp.Attributes()
			if err := w.element(LevelDataPoint, i); err != nil {
				return false, err
			}
		}
	}
	if len(w.del) == base {
		return false, nil
	}
	d := w.pending(base)
	dps.RemoveIf(func(pmetric.SummaryDataPoint) bool { return d.drop() })
	return dps.Len() == 0, nil
}

// exemplars walks the filtered attributes of a data point's exemplars.
func (w *Walker) exemplars(es pmetric.ExemplarSlice) error {
	if !w.visit.Has(LevelExemplar) {
		return nil
	}
	for i := 0; i < es.Len(); i++ {
		if err := w.attrs(LevelExemplar, es.At(i).FilteredAttributes()); err != nil {
			return err
		}
	}
	return nil
}
