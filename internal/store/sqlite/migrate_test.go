package sqlite

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
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
		got, _, err = tx.ListKeyIndex(store.Page{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []store.KeyIndexEntry{
		{ID: "nul", Value: "value-nul-000000000000", Enabled: true},
		{ID: "off", Value: "value-off-000000000000", Enabled: false},
		{ID: "on", Value: "value-on-0000000000000", Enabled: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("key index after backfill:\n got  %+v\n want %+v", got, want)
	}
}
