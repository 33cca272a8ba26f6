package postgres

import (
	"context"
	"reflect"
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
		got, _, err = tx.ListKeyIndex(store.Page{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []store.KeyIndexEntry{
		{ID: "nuloff", Value: "value-nuloff-000000000", Enabled: false},
		{ID: "nul", Value: "value-nul-000000000000", Enabled: true},
		{ID: "off", Value: "value-off-000000000000", Enabled: false},
		{ID: "on", Value: "value-on-0000000000000", Enabled: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("key index after backfill:\n got  %+v\n want %+v", got, want)
	}
}
