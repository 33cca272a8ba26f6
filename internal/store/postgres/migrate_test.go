package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// TestEnabledColumnBackfill rewinds a schema to before migration 0004 (no enabled column) and
// checks that reopening it fills the column from each key's document, including ones whose description
// holds \u0000, which PostgreSQL's JSON parser refuses.
func TestEnabledColumnBackfill(t *testing.T) {
	dsn := freshSchema(t)
	s := openDSN(t, dsn, Options{})
	keys := []*apigw.ApiKey{
		{ID: "on", Value: "value-on-0000000000000", Enabled: true},
		{ID: "off", Value: "value-off-000000000000", Enabled: false},
		{ID: "nul", Value: "value-nul-000000000000", Description: "a\x00b", Enabled: true},
		{ID: "nuloff", Value: "value-nuloff-000000000", Description: "\x00", Enabled: false},
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
	sqlOn(t, s, "DROP INDEX api_keys_key_index")
	sqlOn(t, s, "CREATE INDEX api_keys_region_seq ON api_keys (region, seq)")
	sqlOn(t, s, "ALTER TABLE api_keys DROP COLUMN enabled")
	sqlOn(t, s, "DELETE FROM schema_migrations WHERE version >= 4")
	s.Close()

	s = openDSN(t, dsn, Options{})
	var got []store.KeyIndexEntry
	if err := s.View(ctx, "us-east-1", func(tx store.Tx) error {
		var err error
		got, _, err = tx.ListKeyIndex(store.Page{}, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []store.KeyIndexEntry{
		{ID: "nuloff", Hash: sha256.Sum256([]byte("value-nuloff-000000000")), Enabled: false},
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
		sqlOn(t, s, "UPDATE api_keys SET value_hash = $1, secret = '', doc = $2 WHERE id = $3", k.Value, string(doc), k.ID)
	}
	sqlOn(t, s, "DROP INDEX api_keys_unsealed")
	sqlOn(t, s, "ALTER TABLE api_keys DROP COLUMN secret")
	sqlOn(t, s, "ALTER TABLE api_keys RENAME COLUMN value_hash TO value")
	sqlOn(t, s, "DELETE FROM schema_migrations WHERE version >= 6")
}

// TestKeyValuesSealedAtRest rewinds a schema to plain-text key values and checks that opening it
// seals them in place: no column of any row holds a value afterwards, the values read back,
// and GetApiKeyByValue still finds them.
func TestKeyValuesSealedAtRest(t *testing.T) {
	dsn := freshSchema(t)
	s := openDSN(t, dsn, Options{})
	keys := []*apigw.ApiKey{
		{ID: "a", Value: "plaintext-marker-a-0123456789", Enabled: true},
		{ID: "b", Value: "plaintext-marker-b-0123456789", Name: "bee"},
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
	rows := func(s *Store) string {
		var all string
		if err := s.pool.QueryRow(ctx, "SELECT string_agg(t::text, ' ') FROM api_keys t").Scan(&all); err != nil {
			t.Fatal(err)
		}
		return all
	}
	if strings.Contains(rows(s), "plaintext-marker") {
		t.Fatal("PutApiKey stored a value in plain text")
	}
	rewindSealing(t, s, keys)
	if !strings.Contains(rows(s), "plaintext-marker") {
		t.Fatal("the rewound schema holds no plain text: the test would prove nothing")
	}
	s.Close()

	s = openDSN(t, dsn, Options{})
	if all := rows(s); strings.Contains(all, "plaintext-marker") {
		t.Fatalf("a value is still in plain text after the migration: %s", all)
	}
	if err := s.View(ctx, "us-east-1", func(tx store.Tx) error {
		for _, k := range keys {
			got, err := tx.GetApiKeyByValue(k.Value)
			if err != nil || got.ID != k.ID || got.Value != k.Value || got.Name != k.Name {
				t.Fatalf("GetApiKeyByValue(%s) = %+v, %v", k.ID, got, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
