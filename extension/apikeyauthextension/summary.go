package apikeyauthextension

import (
	"context"
	"net/netip"

	"github.com/otelwarden/warden/internal/audit"
)

// Failed logins in the ledger: the refusals of an interval merged per source address and key
// id, each source a login.failure security event with the attempts counted by reason. A flood
// of bad keys grows the ledger by at most summaryMaxKeys events per interval (the rest merge
// into one overflow summary), however many requests it sends.
const (
	// ActionLoginFailure is the action of the summaries, from the security design's audited
	// actions.
	ActionLoginFailure = "login.failure"
	// CountAttempts counts the refused requests a summary stands for; the alert thresholds of
	// the audit_ledger extension weigh a summary by it.
	CountAttempts = "attempts"
	// AttrSourceAddress and AttrKeyID name the summary's key attributes.
	AttrSourceAddress = "source.address"
	AttrKeyID         = "key_id"

	summaryMaxKeys    = 1000
	summaryMaxRetries = 6
	// noKeyID stands for the key id of a refusal that named none (a missing, malformed or
	// unknown key).
	noKeyID = "-"
	// noAddress stands for the source of a request without an IP address (a Unix socket).
	noAddress = "unknown"
)

// summaryNames are the count names of a refusal for each reason: the attempt and its reason.
var summaryNames [reasonCount][]string

func init() {
	for r := range reasonCount {
		summaryNames[r] = []string{CountAttempts, reasonNames[r]}
	}
}

var oneAttempt = []int64{1, 1}

func (a *authenticator) newSummaries(rec audit.Recorder) (*audit.Aggregator, error) {
	return audit.NewAggregator(audit.AggregatorSettings{
		Recorder:       rec,
		Actor:          a.id.String(),
		Action:         ActionLoginFailure,
		Outcome:        audit.OutcomeFailure,
		Classification: audit.ClassConfidential,
		ResourceType:   "source",
		KeyAttributes:  [2]string{AttrSourceAddress, AttrKeyID},
		Describe:       a.describe,
		Interval:       a.cfg.SummaryInterval,
		MaxKeys:        summaryMaxKeys,
		MaxRetries:     summaryMaxRetries,
		Logger:         a.logger,
		OnDropped: func(ctx context.Context, n int) {
			a.telemetry.APIKeyAuthSummariesDropped.Add(ctx, int64(n))
		},
	})
}

// describe makes the source the summary's actor: the key id it presented (or its address when
// it presented none) from its address, so that the ledger's actor columns find it.
func (a *authenticator) describe(key audit.SummaryKey, ev *audit.Event) {
	ev.Actor = audit.Actor{Type: audit.ActorService, ID: key.Name}
	if key.Name == noKeyID {
		ev.Actor.ID = key.ID
	}
	if _, err := netip.ParseAddr(key.ID); err == nil {
		ev.Actor.IP = key.ID
	}
	ev.Attributes["authenticator"] = a.id.String()
}

// summarise adds one refusal to the interval's summaries.
func (a *authenticator) summarise(addr netip.Addr, keyID string, r reason) {
	if a.summaries == nil {
		return
	}
	source := noAddress
	if addr.IsValid() {
		source = addr.String()
	}
	if keyID == "" {
		keyID = noKeyID
	}
	a.summaries.Add(audit.SummaryKey{ID: source, Name: keyID}, summaryNames[r], oneAttempt)
}
