package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

// TestEnabledColumnBackfill rewinds a database to before migration 0004 (no enabled column) and
// checks that reopening it fills the column from each key's document, a name holding \u0000
// included.
func TestEnabledColumnBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s := openAt(t, path)
	keys := []*apigw.ApiKey{
		{ID: "on", Value: "value-on-0000000000000", Enabled: true},
		{ID: "off", Value: "value-off-000000000000", Enabled: false},
		{ID: "nul", Value: "value-nul-000000000000", Name: "a\x00b", Enabled: true},
	}
	ctx := context.Background()
	if err := s.Update(ctx, "us-east-1", func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.PutApiKey(k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rewindSealing(t, s, keys)
	// Back to schema 3: undo 0005 (the covering index holds the column), then 0004.
	for _, q := range []string{"DROP INDEX api_keys_key_index", "CREATE INDEX api_keys_region_seq ON api_keys (region, seq)",
		"ALTER TABLE api_keys DROP COLUMN enabled", "DELETE FROM schema_migrations WHERE version >= 4"} {
		if _, err := s.writer.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()

	s = openAt(t, path)
	var got []store.KeyIndexEntry
	if err := s.View(ctx, "us-east-1", func(tx store.Tx) error {
		var err error
		got, _, err = tx.ListKeyIndex(store.Page{}, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []store.KeyIndexEntry{
		{ID: "nul", Hash: sha256.Sum256([]byte("value-nul-000000000000")), Enabled: true},
		{ID: "off", Hash: sha256.Sum256([]byte("value-off-000000000000")), Enabled: false},
		{ID: "on", Hash: sha256.Sum256([]byte("value-on-0000000000000")), Enabled: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("key index after backfill:\n got  %+v\n want %+v", got, want)
	}
}

// rewindSealing takes a store back to schema 5, before key values were sealed: the value column
// holds each value in plain text and each document carries it.
func rewindSealing(t *testing.T, s *Store, keys []*apigw.ApiKey) {
	t.Helper()
	for _, k := range keys {
		doc, _ := json.Marshal(k)
		if _, err := s.writer.Exec("UPDATE api_keys SET value_hash = ?, secret = '', doc = ? WHERE id = ?", k.Value, string(doc), k.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"DROP INDEX api_keys_unsealed", "ALTER TABLE api_keys DROP COLUMN secret",
		"ALTER TABLE api_keys RENAME COLUMN value_hash TO value", "DELETE FROM schema_migrations WHERE version >= 6"} {
		if _, err := s.writer.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// fileBytes returns the database file and its WAL, as a thief of the data directory gets them.
func fileBytes(t *testing.T, path string) []byte {
	var all []byte
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestKeyValuesSealedAtRest writes keys, rewinds the database to plain-text values (the form a
// release before sealing left), and checks that opening it seals them in place: the values
// still read back and still find their keys, and no byte of the database or its WAL holds one,
// even after a rotation to a new master key.
func TestKeyValuesSealedAtRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	ctx := context.Background()
	s := openAt(t, path)
	var keys []*apigw.ApiKey
	for i := range 520 { // more than one sqlstore.SealBatch
		keys = append(keys, &apigw.ApiKey{ID: "k" + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			Value: "plaintext-marker-" + string(rune('A'+i%26)) + string(rune('A'+i/26)) + "-0123456789", Enabled: true})
	}
	update := func(s *Store, fn func(tx store.Tx) error) {
		t.Helper()
		if err := s.Update(ctx, "us-east-1", fn); err != nil {
			t.Fatal(err)
		}
	}
	update(s, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.PutApiKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	if _, err := s.writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if raw := fileBytes(t, path); bytes.Contains(raw, []byte("plaintext-marker-")) {
		t.Fatal("a key value written by PutApiKey is in the database files")
	}
	rewindSealing(t, s, keys)
	s.Close()
	if raw := fileBytes(t, path); !bytes.Contains(raw, []byte("plaintext-marker-")) {
		t.Fatal("the rewound database holds no plain text: the test would prove nothing")
	}

	s = openAt(t, path)
	check := func(s *Store, what string) {
		t.Helper()
		if err := s.View(ctx, "us-east-1", func(tx store.Tx) error {
			for _, k := range keys {
				got, err := tx.GetApiKey(k.ID)
				if err != nil || got.Value != k.Value {
					t.Fatalf("%s: GetApiKey(%s) = %v, %v", what, k.ID, got, err)
				}
				if got, err := tx.GetApiKeyByValue(k.Value); err != nil || got.ID != k.ID {
					t.Fatalf("%s: GetApiKeyByValue(%s) = %v, %v", what, k.ID, got, err)
				}
			}
			idx, _, err := tx.ListKeyIndex(store.Page{Limit: 1}, "")
			if err != nil || idx[0].Hash != sha256.Sum256([]byte(keys[len(keys)-1].Value)) {
				t.Fatalf("%s: ListKeyIndex = %v, %v", what, idx, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if raw := fileBytes(t, path); bytes.Contains(raw, []byte("plaintext-marker-")) {
			t.Fatalf("%s: a key value is in the database or WAL bytes", what)
		}
	}
	check(s, "after migration")
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("database mode %04o, want 0600", st.Mode().Perm())
	}
	s.Close()

	// Rotation: a store opened with the new key in front reseals every value under it; the old
	// key alone then opens nothing.
	rotated, err := seal.New(seal.NewKey(), []byte("tollgate-tests-master-key-32byte"))
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, rotated)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Reseal(ctx); err != nil || n != len(keys) {
		t.Fatalf("Reseal = %d, %v; want %d", n, err, len(keys))
	}
	if n, err := s.Reseal(ctx); err != nil || n != 0 {
		t.Fatalf("second Reseal = %d, %v; want 0", n, err)
	}
	check(s, "after rotation")
	var secret string
	if err := s.reader.QueryRow("SELECT secret FROM api_keys LIMIT 1").Scan(&secret); err != nil {
		t.Fatal(err)
	}
	if seal.SealedWith(secret) != rotated.ActiveID() {
		t.Fatalf("after Reseal a value is sealed under %s, want %s", seal.SealedWith(secret), rotated.ActiveID())
	}
	if _, err := storetest.Keys.Open(secret, "api_keys/"+keys[0].ID); err == nil {
		t.Fatal("the retired key still opens a resealed value")
	}
}
