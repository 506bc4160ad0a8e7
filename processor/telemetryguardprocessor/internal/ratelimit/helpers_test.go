package ratelimit

import (
	"math"

	"go.opentelemetry.io/collector/confmap"
)

func confmapFrom(raw map[string]any) *confmap.Conf { return confmap.NewFromStringMap(raw) }

func nan() float64 { return math.NaN() }
