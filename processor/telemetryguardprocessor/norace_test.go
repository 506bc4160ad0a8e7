//go:build !race

package telemetryguardprocessor

const raceEnabled = false
