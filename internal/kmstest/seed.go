package kmstest

import (
	"errors"
	"fmt"
	"os"

	"github.com/nsmithuk/local-kms/src/cmk"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
	"github.com/syndtr/goleveldb/leveldb"
	"go.yaml.in/yaml/v3"
)

// seedFile is local-kms's seed format (its README, "Seeding file format"): keys with their
// material and ids, and aliases naming them.
type seedFile struct {
	Keys struct {
		Symmetric struct {
			Aes []cmk.AesKey `yaml:"Aes"`
		} `yaml:"Symmetric"`
		Asymmetric struct {
			Rsa []cmk.RsaKey `yaml:"Rsa"`
			Ecc []cmk.EccKey `yaml:"Ecc"`
		} `yaml:"Asymmetric"`
	} `yaml:"Keys"`
	Aliases []data.Alias `yaml:"Aliases"`
}

// Seed adds the keys and aliases of a local-kms seed file at path to db, as local-kms does at
// start: what db already holds is left as it is. It returns how many keys and aliases it added.
// SetAccount must have been called: the ARNs name the account and region.
func Seed(db *data.Database, path string) (keys, aliases int, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("seed: %w", err)
	}
	var seed seedFile
	if err := yaml.Unmarshal(raw, &seed); err != nil {
		return 0, 0, fmt.Errorf("seed %s: %w", path, err)
	}
	var all []cmk.Key
	for i := range seed.Keys.Symmetric.Aes {
		all = append(all, &seed.Keys.Symmetric.Aes[i])
	}
	for i := range seed.Keys.Asymmetric.Rsa {
		all = append(all, &seed.Keys.Asymmetric.Rsa[i])
	}
	for i := range seed.Keys.Asymmetric.Ecc {
		all = append(all, &seed.Keys.Asymmetric.Ecc[i])
	}
	for _, k := range all {
		switch _, err := db.LoadKey(k.GetArn()); {
		case err == nil:
			continue
		case !errors.Is(err, leveldb.ErrNotFound):
			return keys, aliases, fmt.Errorf("seed %s: key %s: %w", path, k.GetArn(), err)
		}
		if err := db.SaveKey(k); err != nil {
			return keys, aliases, fmt.Errorf("seed %s: key %s: %w", path, k.GetArn(), err)
		}
		keys++
	}
	for _, a := range seed.Aliases {
		a.AliasArn = config.ArnPrefix() + a.AliasName
		switch _, err := db.LoadAlias(a.AliasArn); {
		case err == nil:
			continue
		case !errors.Is(err, leveldb.ErrNotFound):
			return keys, aliases, fmt.Errorf("seed %s: alias %s: %w", path, a.AliasName, err)
		}
		if err := db.SaveAlias(&a); err != nil {
			return keys, aliases, fmt.Errorf("seed %s: alias %s: %w", path, a.AliasName, err)
		}
		aliases++
	}
	return keys, aliases, nil
}
