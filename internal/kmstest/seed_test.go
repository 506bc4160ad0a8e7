package kmstest

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seed files of the examples load, their aliases resolve, and seeding again adds nothing.
func TestSeedExamples(t *testing.T) {
	setGlobals.Do(func() { SetAccount(AccountID, Region) })
	for _, tt := range []struct {
		file    string
		keys    int
		aliases []string
	}{
		{file: "../../examples/kms/local-kms.yaml", keys: 3, aliases: []string{"alias/warden-fields", "alias/warden-tenant-acme", "alias/warden-tenant-globex"}},
		{file: "../../examples/kms-ledger/local-kms.yaml", keys: 1, aliases: []string{"alias/warden-ledger"}},
	} {
		t.Run(filepath.Base(filepath.Dir(tt.file)), func(t *testing.T) {
			db, err := OpenDatabase(t.TempDir())
			require.NoError(t, err)
			keys, aliases, err := Seed(db, tt.file)
			require.NoError(t, err)
			assert.Equal(t, tt.keys, keys)
			assert.Len(t, tt.aliases, aliases)
			keys, aliases, err = Seed(db, tt.file)
			require.NoError(t, err)
			assert.Zero(t, keys+aliases, "what is there stays as it is")

			srv := httptest.NewServer(Handler(db, logrus.New()))
			s := &Server{http: srv}
			c := s.Client(t)
			for _, alias := range tt.aliases {
				out, err := c.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(alias)})
				require.NoError(t, err, alias)
				assert.True(t, out.KeyMetadata.Enabled, alias)
			}
			srv.Close()
			db.Close()
			awaitDatabaseGoroutines()
		})
	}
}

func TestSeedErrors(t *testing.T) {
	setGlobals.Do(func() { SetAccount(AccountID, Region) })
	db, err := OpenDatabase(t.TempDir())
	require.NoError(t, err)
	defer func() { db.Close(); awaitDatabaseGoroutines() }()
	_, _, err = Seed(db, filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorContains(t, err, "missing.yaml")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("Keys:\n  Symmetric:\n    Aes:\n      - Metadata: {KeyId: k}\n        BackingKeys: [zz]\n"), 0o600))
	_, _, err = Seed(db, bad)
	require.ErrorContains(t, err, "hex")
}
