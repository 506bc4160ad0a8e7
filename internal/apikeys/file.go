// Package apikeys reads, writes and checks Warden's API keys file.
//
// A key is the string wk_<id>_<secret>: the id is public and names its record, so a key is
// checked against one record rather than against every record; the secret is 32 random bytes
// in unpadded base64url (43 characters). The file stores only the SHA-256 of the whole key
// string, never the key itself:
//
//	format: warden-apikeys
//	version: 1
//	keys:
//	  - id: k-3f9a1c2b
//	    tenant: acme
//	    scopes: [traces, logs, metrics]
//	    created: 2026-12-01T10:00:00Z
//	    expires: 2027-03-01T10:00:00Z   # optional
//	    revoked: 2026-12-02T10:00:00Z   # optional
//	    sha256: <64 lowercase hex>
//
// A tenant may hold several keys at once, so that a new key can be rolled out before the old
// one is revoked.
package apikeys // import "github.com/otelwarden/warden/internal/apikeys"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	// FormatName is the value of the file's format field.
	FormatName = "warden-apikeys"
	// FormatVersion is the only version this package reads and writes.
	FormatVersion = 1
)

// File is the keys file as written on disk.
type File struct {
	Format  string   `yaml:"format"`
	Version int      `yaml:"version"`
	Keys    []Record `yaml:"keys"`
}

// Record describes one key. The key itself is not kept, only its hash.
type Record struct {
	// ID is public, short and unique in the file; it is part of the key string.
	ID string `yaml:"id"`
	// Tenant is the tenant the key's telemetry belongs to.
	Tenant string `yaml:"tenant"`
	// Scopes are the signals the key may send.
	Scopes []Scope `yaml:"scopes,flow"`
	// Created is when the key was generated.
	Created time.Time `yaml:"created"`
	// Expires, when set, is the instant from which the key is no longer accepted.
	Expires time.Time `yaml:"expires,omitempty"`
	// Revoked, when set, is the instant from which the key is no longer accepted.
	Revoked time.Time `yaml:"revoked,omitempty"`
	// SHA256 is the lowercase hex SHA-256 of the whole key string.
	SHA256 string `yaml:"sha256"`
}

// HasScope reports whether the record allows scope s.
func (r *Record) HasScope(s Scope) bool {
	for _, have := range r.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

// NewFile returns an empty keys file of the current format and version.
func NewFile() *File {
	return &File{Format: FormatName, Version: FormatVersion, Keys: []Record{}}
}

// Add appends rec after checking it and that its id is not taken.
func (f *File) Add(rec Record) error {
	if errs := rec.validate(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	for i := range f.Keys {
		if f.Keys[i].ID == rec.ID {
			return fmt.Errorf("key id %q is already in the file (keys[%d])", rec.ID, i)
		}
	}
	f.Keys = append(f.Keys, rec)
	return nil
}

// ReadFile reads and validates the keys file at path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("api keys file: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("api keys file %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes and validates a keys file. Unknown fields are errors; every problem is
// reported, each naming the record index and field.
func Parse(data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a valid YAML document: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("want a mapping with format, version and keys")
	}
	var f File
	var errs []error
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		name, value := top.Content[i], top.Content[i+1]
		switch name.Value {
		case "format":
			if err := value.Decode(&f.Format); err != nil {
				errs = append(errs, fmt.Errorf("format: %w", err))
			}
		case "version":
			if err := value.Decode(&f.Version); err != nil {
				errs = append(errs, fmt.Errorf("version: %w", err))
			}
		case "keys":
			f.Keys, errs = decodeRecords(value, errs)
		default:
			errs = append(errs, fmt.Errorf("line %d: unknown field %q (want format, version, keys)", name.Line, name.Value))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Keys == nil {
		f.Keys = []Record{}
	}
	return &f, nil
}

var recordFields = map[string]bool{"id": true, "tenant": true, "scopes": true, "created": true, "expires": true, "revoked": true, "sha256": true}

func decodeRecords(seq *yaml.Node, errs []error) ([]Record, []error) {
	if seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
		return nil, errs
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, append(errs, fmt.Errorf("keys: line %d: want a list of keys", seq.Line))
	}
	recs := make([]Record, len(seq.Content))
	for i, item := range seq.Content {
		if item.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("keys[%d]: line %d: want a mapping", i, item.Line))
			continue
		}
		bad := false
		for j := 0; j+1 < len(item.Content); j += 2 {
			if name := item.Content[j]; !recordFields[name.Value] {
				errs = append(errs, fmt.Errorf("keys[%d]: line %d: unknown field %q (want id, tenant, scopes, created, expires, revoked, sha256)", i, name.Line, name.Value))
				bad = true
			}
		}
		if bad {
			continue
		}
		if err := item.Decode(&recs[i]); err != nil {
			errs = append(errs, fmt.Errorf("keys[%d]: %w", i, err))
		}
	}
	return recs, errs
}

// Validate reports every problem of the file at once.
func (f *File) Validate() error {
	var errs []error
	if f.Format != FormatName {
		errs = append(errs, fmt.Errorf("format: got %q, want %q", f.Format, FormatName))
	}
	if f.Version != FormatVersion {
		errs = append(errs, fmt.Errorf("version: got %d, want %d (this collector reads version %d only)", f.Version, FormatVersion, FormatVersion))
	}
	ids := make(map[string]int, len(f.Keys))
	hashes := make(map[string]int, len(f.Keys))
	for i := range f.Keys {
		rec := &f.Keys[i]
		for _, err := range rec.validate() {
			errs = append(errs, fmt.Errorf("keys[%d]: %w", i, err))
		}
		if j, ok := ids[rec.ID]; ok && rec.ID != "" {
			errs = append(errs, fmt.Errorf("keys[%d].id: %q is also the id of keys[%d]", i, rec.ID, j))
		} else {
			ids[rec.ID] = i
		}
		if j, ok := hashes[rec.SHA256]; ok && rec.SHA256 != "" {
			errs = append(errs, fmt.Errorf("keys[%d].sha256: same hash as keys[%d]", i, j))
		} else {
			hashes[rec.SHA256] = i
		}
	}
	return errors.Join(errs...)
}

func (r *Record) validate() []error {
	var errs []error
	if !validID(r.ID) {
		errs = append(errs, fmt.Errorf("id: %q is not a key id (want 1 to %d characters of a-z, 0-9 and '-')", r.ID, maxIDLen))
	}
	if !validTenant(r.Tenant) {
		errs = append(errs, fmt.Errorf("tenant: %q is not a tenant (want 1 to 128 characters of letters, digits, '.', '_' and '-')", r.Tenant))
	}
	if len(r.Scopes) == 0 {
		errs = append(errs, errors.New("scopes: at least one is required (traces, logs, metrics, audit)"))
	}
	seen := map[Scope]bool{}
	for j, s := range r.Scopes {
		if !s.Valid() {
			errs = append(errs, fmt.Errorf("scopes[%d]: unknown scope %q (want traces, logs, metrics or audit)", j, s))
		} else if seen[s] {
			errs = append(errs, fmt.Errorf("scopes[%d]: %q is listed twice", j, s))
		}
		seen[s] = true
	}
	if r.Created.IsZero() {
		errs = append(errs, errors.New("created: required"))
	}
	if !r.Expires.IsZero() && !r.Created.IsZero() && !r.Expires.After(r.Created) {
		errs = append(errs, errors.New("expires: must be after created"))
	}
	if !validHash(r.SHA256) {
		errs = append(errs, errors.New("sha256: want 64 lowercase hex digits (the SHA-256 of the whole key string)"))
	}
	return errs
}

// Save writes the file to path atomically: a temporary file in the same directory, written
// with mode 0600 and synced, is renamed over path, and the directory is synced, so readers see
// the old file or the new one, never part of one.
func (f *File) Save(path string) (err error) {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("api keys file %s not saved: %w", path, err)
	}
	out := *f
	if out.Keys == nil {
		out.Keys = []Record{}
	}
	data, err := yaml.Marshal(&out)
	if err != nil {
		return fmt.Errorf("api keys file %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("api keys file %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("api keys file %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("api keys file %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("api keys file %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("api keys file %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("api keys file %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
