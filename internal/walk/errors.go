package walk

import "strconv"

// Error is a visitor's error, with where it stopped the walk. Unwrap gives the visitor's
// error, so errors.Is and errors.As see through it.
type Error struct {
	Signal Signal
	Level  Level
	// Where is the value's location as Location.String renders it
	// (`logs/log_record/attribute["password"]`), or for an element its signal and level,
	// with its metric's name for a data point (`metrics/datapoint of "http.server.duration"`).
	// It names keys and metric names, never values.
	Where string
	Err   error
}

func (e *Error) Error() string { return "walk: " + e.Where + ": " + e.Err.Error() }

// Unwrap returns the visitor's error.
func (e *Error) Unwrap() error { return e.Err }

func valueError(loc *Location, err error) error {
	return &Error{Signal: loc.Signal, Level: loc.Level, Where: loc.String(), Err: err}
}

func elementError(e *Element, err error) error {
	where := e.Signal.String() + "/" + e.Level.String()
	if e.Level == LevelDataPoint {
		where += " of " + strconv.Quote(e.Metric.Name())
	}
	return &Error{Signal: e.Signal, Level: e.Level, Where: where, Err: err}
}
