//go:build race

package telemetryguardprocessor

const raceEnabled = true
