package detect

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNameKeyMatcherDefaults(t *testing.T) {
	n := NewNameKeyMatcher(nil, nil)
	names := []string{
		"user.name", "user_name", "userName", "UserName", "username", "USERNAME",
		"user.full_name", "user.fullName", "full_name", "fullname", "FullName",
		"first_name", "firstName", "FIRST_NAME", "last_name", "lastName", "Last-Name",
		"customer_name", "customerName", "Customer-Name", "customer.name", "app.customer_name",
		"order.customer.name", "given_name", "family_name", "surname", "user.surname",
		"display_name", "displayName", "user.display_name", "cardholder_name", "cardholder",
		"payment.card_holder_name", "account_holder", "accountHolder", "enduser.name",
		"patient_name", "billing.first_name", "shipping_name", "middle_name",
	}
	for _, key := range names {
		assert.Equal(t, NameKey, n.Match(key), "%q should be a name key", key)
	}
	notNames := []string{
		"", "name", "Name", "service.name", "host.name", "k8s.pod.name", "k8s.namespace.name",
		"db.name", "db.namespace", "http.route", "span.name", "file.name", "filename", "hostname",
		"container.name", "process.user.name", "process.real_user.name", "process.saved_user.name",
		"process.owner", "file.owner.name", "file.group.name", "vcs.owner.name", "vcs.ref.head.name",
		"user_agent.name", "user_agent.os.name", "os.name", "user.id", "enduser.id",
		"enduser.pseudo.id", "user.email", "user.hash", "user.roles", "customer.id",
		"first_name_length", "first_name.hash", "customer_name_count", "user.name.length",
		"product.display_name", "metric.display_name", "gen_ai.agent.name", "thread.name",
		"messaging.destination.name", "test.case.name", "service.peer.name", "db.user",
		"db.username", "aspnetcore.identity.user_type", "nickname", "rename", "namespace",
		"lastname_policy", "cicd.pipeline.task.name", "feature_flag.provider.name",
	}
	for _, key := range notNames {
		assert.NotEqual(t, NameKey, n.Match(key), "%q should not be a name key", key)
	}
}

func TestNameKeyMatcherTailAndNested(t *testing.T) {
	n := NewNameKeyMatcher(nil, nil)
	assert.Equal(t, NameKeyTail, n.Match("name"))
	assert.Equal(t, NameKeyTail, n.Match("holder"))
	assert.Equal(t, NotNameKey, n.Match("id"))
	for _, c := range []struct {
		parent, key string
		want        bool
	}{
		{"customer", "name", true},
		{"user", "name", true},
		{"User", "Name", true},
		{"account", "holder", true},
		{"card", "holder_name", true},
		{"service", "name", false},
		{"host", "name", false},
		{"process.user", "name", false},
		{"product", "name", false},
		{"", "name", false},
		{"customer", "", false},
		{"customer", "id", false},
	} {
		assert.Equal(t, c.want, n.MatchNested(c.parent, c.key), "%q / %q", c.parent, c.key)
	}
}

func TestNameKeyMatcherExtraAndExclude(t *testing.T) {
	n := NewNameKeyMatcher([]string{"passenger", "traveller.name"}, []string{"display_name", "userName"})
	for key, want := range map[string]bool{
		"passenger":          true,
		"booking.passenger":  true,
		"passengerCount":     false,
		"traveller_name":     true,
		"travellerName":      true,
		"display_name":       false,
		"user.name":          false,
		"username":           false,
		"user.full_name":     true,
		"user.display_name":  true,
		"passenger.id":       false,
		"first_name":         true,
		"flight.passenger_x": false,
	} {
		assert.Equal(t, want, n.Match(key) == NameKey, "%q", key)
	}
	var nilMatcher *NameKeyMatcher
	assert.Equal(t, NotNameKey, nilMatcher.Match("first_name"))
	assert.False(t, nilMatcher.MatchNested("customer", "name"))
}

func TestNameKeyMatcherLongKeys(t *testing.T) {
	n := NewNameKeyMatcher(nil, nil)
	long := strings.Repeat("a.", 40) + "first_name"
	assert.Equal(t, NotNameKey, n.Match(strings.Repeat("a.", 40)+"b"))
	// Past 24 segments the key is cut: it must not panic, whatever it decides.
	_ = n.Match(long)
	_ = n.MatchNested(long, long)
}

func TestLooksLikeName(t *testing.T) {
	for _, v := range []string{
		"Jane Doe", "jane", "a.einstein", "O'Brien", "María-José Carreño", "李小龍", "Dr. J. Smith",
		"jane.doe@example.com", "Ng", "X Æ A-12",
	} {
		assert.True(t, LooksLikeName(v), "%q", v)
	}
	for _, v := range []string{
		"", "12345", "-", "  ", "N/A", "n/a", "unknown", "Unknown", "null", "NONE", " anonymous ",
		"[REDACTED:name]", "[HASH:name:v1:3fdcb8cd:a1b104674d2c0219b5c2f5334f995fe7]",
		"J*** ***", strings.Repeat("a", 257), "2024-01-02", "+44 20 7946 0958",
	} {
		assert.False(t, LooksLikeName(v), "%q", v)
	}
}

func BenchmarkNameKeyMatcher(b *testing.B) {
	n := NewNameKeyMatcher(nil, nil)
	keys := []string{"user.full_name", "service.name", "http.request.method", "customerName", "name"}
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range keys {
			_ = n.Match(k)
		}
	}
}

// referenceNameKey is Match written plainly over normalised segments.
func referenceNameKey(n *NameKeyMatcher, segs []string) NameKeyMatch {
	res := NotNameKey
	for _, t := range n.terms {
		if len(segs) < len(t.segs) {
			if slicesEqual(segs, t.segs[len(t.segs)-len(segs):]) && len(segs) > 0 {
				res = max(res, NameKeyTail)
			}
			continue
		}
		if slicesEqual(segs[len(segs)-len(t.segs):], t.segs) && (!t.whole || len(segs) == len(t.segs)) {
			return NameKey
		}
	}
	return res
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzNameKeyMatcher(f *testing.F) {
	for _, v := range []string{"user.full_name", "customerName", "Customer-Name", "service.name", "name",
		"process.user.name", "userName", "USER_NAME", "cardHolder", "first_name.hash", "ÜberName", "a..b__c"} {
		f.Add(v, "customer")
	}
	n := NewNameKeyMatcher([]string{"passenger"}, []string{"display_name"})
	f.Fuzz(func(t *testing.T, key, parent string) {
		_ = n.MatchNested(parent, key) // must not panic
		key = strings.ToValidUTF8(key, "")
		if strings.IndexFunc(key, func(r rune) bool { return r >= 0x80 }) >= 0 || len(splitKey(key, nil)) > maxNameKeySegs {
			n.Match(key)
			return
		}
		if got, want := n.Match(key), referenceNameKey(n, normalizeKeyString(key)); got != want {
			t.Fatalf("Match(%q) = %v, reference %v (segments %q)", key, got, want, normalizeKeyString(key))
		}
	})
}

func FuzzLooksLikeName(f *testing.F) {
	for _, v := range []string{"Jane Doe", "", "n/a", "[REDACTED:name]", "\xff\xfe", "李小龍", "J*** ***"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if LooksLikeName(v) && (len(v) > maxNameBytes || strings.Contains(v, "*")) {
			t.Fatalf("LooksLikeName(%q) = true", v)
		}
	})
}
