package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/otelwarden/warden/internal/apikeys"
	"github.com/otelwarden/warden/internal/audit"
)

// The API key events in the ledger.
const (
	actionAPIKeyCreated  = "api_key.created"
	actionAPIKeyRevoked  = "api_key.revoked"
	resourceTypeAPIKey   = "api_key"
	attrRotatedFrom      = "rotated_from"
	attrPreviousExpires  = "previous_key_expires"
	attrAlreadyRevokedAt = "already_revoked_at"
)

// apikeysLockWait bounds the wait for another wardenctl's change of the same keys file.
var apikeysLockWait = 10 * time.Second

// lockKeysFile takes path + ".lock" (see lockFile), waiting up to apikeysLockWait for another
// wardenctl to finish its change: two changes never interleave, or the second would write
// back a file without the first's keys. The keys file itself cannot be locked, since a save
// replaces it.
func lockKeysFile(path string) (func(), error) {
	lock := path + ".lock"
	// An unwritable directory fails here, at once; only a held lock is waited for.
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("api keys file %s: lock: %w", path, err)
	}
	_ = f.Close()
	deadline := time.Now().Add(apikeysLockWait)
	for {
		unlock, err := lockFile(lock)
		if err == nil {
			return unlock, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("api keys file %s: another wardenctl has been changing it for over %s (%s is locked); try again once it has finished", path, apikeysLockWait, lock)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// updateKeysFile changes the keys file at path under its lock and saves it atomically (mode
// 0600). A missing file is an error unless create is set, when change starts from an empty
// one (in a directory made for it, mode 0700, if there is none). Nothing is written when
// change fails.
func updateKeysFile(path string, create bool, change func(f *apikeys.File, now time.Time) error) error {
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	}
	unlock, err := lockKeysFile(path)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := apikeys.ReadFile(path)
	switch {
	case create && errors.Is(err, fs.ErrNotExist):
		f = apikeys.NewFile()
	case err != nil:
		return err
	}
	if err := change(f, time.Now().UTC()); err != nil {
		return err
	}
	return f.Save(path)
}

// findKey returns the record of id in f.
func findKey(f *apikeys.File, path, id string) (*apikeys.Record, error) {
	for i := range f.Keys {
		if f.Keys[i].ID == id {
			return &f.Keys[i], nil
		}
	}
	return nil, fmt.Errorf("api keys file %s: no key with id %q (wardenctl apikeys list --file %s shows the ids)", path, id, path)
}

// apikeyState is a record's state at now, as list shows it.
func apikeyState(rec *apikeys.Record, now time.Time) string {
	switch {
	case !rec.Revoked.IsZero() && !now.Before(rec.Revoked):
		return "revoked"
	case !rec.Expires.IsZero() && !now.Before(rec.Expires):
		return "expired"
	}
	return "active"
}

// parseScopes reads --scopes: scope names separated by commas.
func parseScopes(text string) ([]apikeys.Scope, error) {
	var (
		scopes []apikeys.Scope
		errs   []error
	)
	seen := map[apikeys.Scope]bool{}
	for _, name := range strings.Split(text, ",") {
		s, err := apikeys.ParseScope(strings.TrimSpace(name))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--scopes: %w", err))
		case seen[s]:
			errs = append(errs, fmt.Errorf("--scopes: %q is given twice", s))
		default:
			seen[s] = true
			scopes = append(scopes, s)
		}
	}
	return scopes, errors.Join(errs...)
}

func scopeList(scopes []apikeys.Scope) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ",")
}

var daysForm = regexp.MustCompile(`^([0-9]+)d$`)

// parseExpires reads --expires: a number of days (90d), a Go duration (720h) or an RFC 3339
// time, which must be after now.
func parseExpires(text string, now time.Time) (time.Time, error) {
	const want = "want days (90d), hours (720h) or an RFC 3339 time (2027-03-01T00:00:00Z)"
	var at time.Time
	if m := daysForm.FindStringSubmatch(text); m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > 100*365 {
			return time.Time{}, fmt.Errorf("--expires %q: too far ahead", text)
		}
		at = now.Add(time.Duration(days) * 24 * time.Hour)
	} else if d, err := time.ParseDuration(text); err == nil {
		at = now.Add(d)
	} else if t, err := time.Parse(time.RFC3339, text); err == nil {
		at = t
	} else {
		return time.Time{}, fmt.Errorf("--expires %q: %s", text, want)
	}
	if !at.After(now) {
		return time.Time{}, fmt.Errorf("--expires %q: in the past; %s", text, want)
	}
	return at.UTC().Truncate(time.Second), nil
}

// apikeyEvent is the ledger event of a change of key rec, without the actor. Never the key
// or its hash.
func apikeyEvent(action, path string, rec *apikeys.Record, at time.Time) audit.Event {
	ev := audit.Event{
		Time:     at,
		Action:   action,
		Resource: audit.Resource{Type: resourceTypeAPIKey, ID: rec.ID, Name: rec.Tenant},
		Outcome:  audit.OutcomeSuccess,
		Attributes: map[string]string{
			"tenant":    rec.Tenant,
			"scopes":    scopeList(rec.Scopes),
			"keys_file": clip(absPath(path), 1024),
		},
		DataClassification: audit.ClassInternal,
	}
	if !rec.Expires.IsZero() {
		ev.Attributes["expires"] = rec.Expires.Format(time.RFC3339)
	}
	return ev
}

// apikeysLedger records the change of a keys file command: opened before the change, so
// that a change that could not be recorded is not made.
type apikeysLedger struct {
	cmd string // "apikeys create"
	who operator
	rec *actionLedger
}

// openLedger opens the ledger when the flags ask for one; a nil error with nothing to open
// leaves rec nil.
func openLedger(cmd string, o *ledgerOptions, stderr io.Writer) (*apikeysLedger, error) {
	l := &apikeysLedger{cmd: cmd, who: currentOperator()}
	if !o.enabled() {
		return l, nil
	}
	rec, err := o.open(l.who, stderr)
	if err != nil {
		return nil, err
	}
	l.rec = rec
	return l, nil
}

// abandon closes the ledger after a change that was not made.
func (l *apikeysLedger) abandon() {
	if l.rec != nil {
		l.rec.close()
	}
}

// record records ev and returns the exit code; done says what was changed, for when it
// could not be recorded.
func (l *apikeysLedger) record(stderr io.Writer, ev audit.Event, done string) int {
	if l.rec == nil {
		fmt.Fprintf(stderr, "wardenctl %s: not recorded in an audit ledger (no --ledger-dir or --ledger-postgres)\n", l.cmd)
		return exitOK
	}
	ev.Actor = l.who.actor()
	for k, v := range l.who.attributes() {
		ev.Attributes[k] = v
	}
	if err := l.rec.recordAndClose(ev); err != nil {
		return ledgerFailed(stderr, l.cmd, done, err)
	}
	fmt.Fprintf(stderr, "wardenctl %s: recorded as %s in the audit ledger (%s)\n", l.cmd, ev.Action, l.rec.where())
	return exitOK
}
