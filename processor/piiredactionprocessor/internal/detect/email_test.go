package detect

import "testing"

func TestEmailInternational(t *testing.T) {
	runDetectCases(t, []detectCase{
		{"punycode", "user@xn--bcher-kva.example", []string{"email:user@xn--bcher-kva.example"}},
		{"punycode tld", "user@xn--e1afmkfd.xn--p1ai", []string{"email:user@xn--e1afmkfd.xn--p1ai"}},
		{"utf-8 label", "mail jane@bücher.example now", []string{"email:jane@bücher.example"}},
		{"utf-8 tld", "jane@пример.рф", []string{"email:jane@пример.рф"}},
		{"utf-8 combining mark", "jane@bu\u0308cher.example", []string{"email:jane@bu\u0308cher.example"}},
		{"text glued to the tld", "メールはjane@example.comです", []string{"email:jane@example.com"}},
		{"dash after", "jane@example.com—or call", []string{"email:jane@example.com"}},
		{"ipv4 literal", "to user@[192.0.2.1] now", []string{"email:user@[192.0.2.1]"}},
		{"ipv6 literal", "user@[IPv6:2001:db8::1]", []string{"email:user@[IPv6:2001:db8::1]"}},
		{"ipv6 literal lower", "user@[ipv6:::1]", []string{"email:user@[ipv6:::1]"}},
		{"plus local", "jane+tag@bücher.example", []string{"email:jane+tag@bücher.example"}},
		{"colon and space after", "mail jane@example.com: hello", []string{"email:jane@example.com"}},
		{"port after", "jane@example.com:8080", []string{"email:jane@example.com"}},

		{"after a percent escape", "to=%22jane@example.com%22 mailto%3Ajane@example.com", []string{"email:jane@example.com", "email:jane@example.com"}},
		{"after a unicode escape", `"\u003cjane@example.com\u003e"`, []string{"email:jane@example.com"}},
		{"after an html entity", "&#34;jane@example.com&#34;", []string{"email:jane@example.com"}},

		{"ssh address", "git@github.com:org/repo.git", nil},
		{"log file", "log(s) : /var/log/rabbitmq/rabbit@localhost.log", nil},
		{"systemd unit", "Created symlink /etc/systemd/system/getty.target.wants/getty@tty1.service", nil},
		{"file suffix in upper case", "node@HOST.CONF", nil},
		{"country domain that is also a suffix", "jane@example.sh", []string{"email:jane@example.sh"}},
		{"scp path", "deploy@host.example.com:/srv/app", nil},
		{"scp home", "deploy@host.example.com:~/app", nil},
		{"handle", "thanks @jane_doe", nil},
		{"decorator", "@Override public void run()", nil},
		{"npm scope", "npm i @types/node", nil},
		{"npm version", "@types/node@20.11.5 pkg@1.2.3", nil},
		{"bad ipv4 literal", "user@[999.0.2.1]", nil},
		{"bad ipv6 literal", "user@[IPv6:2001:db8:::1]", nil},
		{"unclosed literal", "user@[192.0.2.1", []string{"ipv4:192.0.2.1"}},
		{"literal without local part", "@[192.0.2.1]", []string{"ipv4:192.0.2.1"}},
		{"utf-8 single label", "jane@bücher", nil},
		{"utf-8 punctuation tld", "jane@example.—", nil},
		{"mixed tld", "jane@bücher.ex—ample", []string{"email:jane@bücher.ex"}},
		{"invalid utf-8", "jane@b\xffcher.example", nil},
	})
}
