package walk

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func (w *Walker) walkLogs(ctx context.Context, ld plog.Logs, strs bool, p Pass) error {
	if err := w.begin(ctx, SignalLogs, strs, p); err != nil {
		return err
	}
	defer w.end()
	rls := ld.ResourceLogs()
	base := len(w.del)
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		if w.SkipResource != nil && w.SkipResource(rl.Resource()) {
			continue
		}
		if err := w.resource(rl.Resource()); err != nil {
			return err
		}
		emptied, err := w.scopeLogs(rl.ScopeLogs())
		if err != nil {
			return err
		}
		if emptied {
			w.del = append(w.del, i)
		}
	}
	if len(w.del) > base {
		d := w.pending(base)
		rls.RemoveIf(func(plog.ResourceLogs) bool { return d.drop() })
	}
	return nil
}

func (w *Walker) scopeLogs(sls plog.ScopeLogsSlice) (emptied bool, err error) {
	base := len(w.del)
	for j := 0; j < sls.Len(); j++ {
		sl := sls.At(j)
		if err := w.scope(sl.Scope()); err != nil {
			return false, err
		}
		gone, err := w.logRecords(sl.LogRecords())
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
	sls.RemoveIf(func(plog.ScopeLogs) bool { return d.drop() })
	return sls.Len() == 0, nil
}

func (w *Walker) logRecords(lrs plog.LogRecordSlice) (emptied bool, err error) {
	base := len(w.del)
	n := lrs.Len()
	for k := 0; k < n; k++ {
		lr := lrs.At(k)
		if w.visit.Has(LevelLogRecord) {
			if err := w.logRecord(lr); err != nil {
				return false, err
			}
		}
		if w.elements != nil {
			w.elem.LogRecord, w.elem.Attributes = lr, lr.Attributes()
			if err := w.element(LevelLogRecord, k); err != nil {
				return false, err
			}
		}
	}
	if len(w.del) == base {
		return false, nil
	}
	d := w.pending(base)
	lrs.RemoveIf(func(plog.LogRecord) bool { return d.drop() })
	return lrs.Len() == 0, nil
}

func (w *Walker) logRecord(lr plog.LogRecord) error {
	if err := w.attrs(LevelLogRecord, lr.Attributes()); err != nil {
		return err
	}
	if w.sel != nil && w.sel.body != nil {
		if err := w.selectBody(lr.Body()); err != nil {
			return err
		}
	}
	if w.wants(LevelLogRecord, FieldBody) {
		w.loc.Level, w.loc.Field = LevelLogRecord, FieldBody
		if w.value(lr.Body()) {
			pcommon.NewValueEmpty().CopyTo(lr.Body())
		}
	}
	if w.wants(LevelLogRecord, FieldEventName) && lr.EventName() != "" {
		if s, ok := w.visitRoot(LevelLogRecord, FieldEventName, lr.EventName()); ok {
			lr.SetEventName(s)
		}
	}
	return nil
}
