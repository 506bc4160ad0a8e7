package awskms

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id      string
		want    Config
		wantErr string
	}{
		{id: "alias", want: Config{KeyID: "alias/warden-ledger", Region: "eu-west-1"}},
		{id: "arn", want: Config{KeyID: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}},
		{id: "local", want: Config{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab", Region: "eu-west-2", Endpoint: "http://127.0.0.1:8080"}},
		{id: "typo", wantErr: "regoin"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			sub, err := cm.Sub(tt.id)
			require.NoError(t, err)
			var cfg Config
			err = sub.Unmarshal(&cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
			assert.NoError(t, cfg.Validate())
		})
	}
}

func TestValidate(t *testing.T) {
	const (
		keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
		arn   = "arn:aws:kms:eu-west-1:111122223333:key/" + keyID
	)
	tests := []struct {
		name string
		cfg  Config
		want []string // every problem, in order; none for a valid config
	}{
		{name: "key id", cfg: Config{KeyID: keyID, Region: "us-east-1"}},
		{name: "multi-region key id", cfg: Config{KeyID: "mrk-1234abcd12ab34cd56ef1234567890ab"}},
		{name: "alias", cfg: Config{KeyID: "alias/warden/ledger_2-b"}},
		{name: "key ARN", cfg: Config{KeyID: arn}},
		{name: "key ARN and its region", cfg: Config{KeyID: arn, Region: "eu-west-1"}},
		{name: "alias ARN", cfg: Config{KeyID: "arn:aws:kms:us-gov-west-1:111122223333:alias/warden"}},
		{name: "China partition", cfg: Config{KeyID: "arn:aws-cn:kms:cn-north-1:111122223333:key/" + keyID}},
		{name: "local endpoint", cfg: Config{KeyID: keyID, Region: "eu-west-2", Endpoint: "http://127.0.0.1:8080"}},
		{name: "VPC endpoint", cfg: Config{KeyID: keyID, Endpoint: "https://vpce-0abc.kms.eu-west-1.vpce.amazonaws.com"}},

		{name: "no key", cfg: Config{}, want: []string{`key_id: required: the KMS key id, key ARN, alias ("alias/NAME") or alias ARN`}},
		{name: "alias without prefix", cfg: Config{KeyID: "warden-ledger"}, want: []string{
			`key_id: "warden-ledger" is not a KMS key id (a UUID or "mrk-..."), key ARN, alias or alias ARN; for an alias write "alias/warden-ledger"`}},
		{name: "empty alias", cfg: Config{KeyID: "alias/"}, want: []string{`key_id: alias "alias/" is not valid`}},
		{name: "alias with a space", cfg: Config{KeyID: "alias/warden ledger"}, want: []string{`key_id: alias "alias/warden ledger" is not valid`}},
		{name: "ARN of another service", cfg: Config{KeyID: "arn:aws:s3:::bucket"}, want: []string{`key_id: "arn:aws:s3:::bucket" is not a KMS key or alias ARN`}},
		{name: "ARN with a bad key id", cfg: Config{KeyID: "arn:aws:kms:eu-west-1:111122223333:key/nope"}, want: []string{`key_id: ARN "arn:aws:kms:eu-west-1:111122223333:key/nope" ends in "key/nope", which is neither key/ID nor a valid alias/NAME`}},
		{name: "ARN with a bad region", cfg: Config{KeyID: "arn:aws:kms:west:111122223333:key/" + keyID}, want: []string{`key_id: ARN "arn:aws:kms:west:111122223333:key/` + keyID + `" has no valid region`}},
		{name: "bad region", cfg: Config{KeyID: keyID, Region: "EU-WEST-1"}, want: []string{`region: "EU-WEST-1" is not an AWS region name (e.g. "us-east-1")`}},
		{name: "region other than the ARN's", cfg: Config{KeyID: arn, Region: "us-east-1"}, want: []string{
			`region: "us-east-1" differs from the region of the key_id ARN ("eu-west-1"): omit region or make them match`}},
		{name: "endpoint without scheme", cfg: Config{KeyID: keyID, Endpoint: "localhost:4566"}, want: []string{`endpoint: "localhost:4566": want an http:// or https:// URL`}},
		{name: "endpoint not a URL", cfg: Config{KeyID: keyID, Endpoint: "http://[::1"}, want: []string{`endpoint: "http://[::1" is not a URL`}},
		{name: "endpoint without host", cfg: Config{KeyID: keyID, Endpoint: "https:///"}, want: []string{`endpoint: "https:///" has no host`}},
		{name: "endpoint with credentials", cfg: Config{KeyID: keyID, Endpoint: "https://AKID:secret@kms.example"}, want: []string{
			`endpoint: "https://AKID:xxxxx@kms.example" holds user information: credentials come from the AWS default chain, never from the URL`}},
		{name: "endpoint with query", cfg: Config{KeyID: keyID, Endpoint: "https://kms.example/?x=1"}, want: []string{`endpoint: "https://kms.example/?x=1": a query or fragment has no place in an endpoint URL`}},
		{name: "every problem at once", cfg: Config{Region: "moon", Endpoint: "ftp://kms.example"}, want: []string{
			"key_id: required", `region: "moon" is not an AWS region name`, `endpoint: "ftp://kms.example": want an http:// or https:// URL`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			joined, ok := err.(interface{ Unwrap() []error })
			require.True(t, ok, "errors.Join")
			problems := joined.Unwrap()
			require.Len(t, problems, len(tt.want), err.Error())
			for i, w := range tt.want {
				assert.Contains(t, problems[i].Error(), w)
			}
			assert.NotContains(t, err.Error(), "secret")
		})
	}
}
