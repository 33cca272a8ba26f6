package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/tollgate/tollgate/internal/store/sqlstore"
)

// migrations holds the schema history. Files are named NNNN_description.sql; each is applied
// once, in order, in its own transaction together with its schema_migrations row, so a crash
// leaves the schema at a whole version. Never edit a released file: add the next one.
//
//go:embed migrations/*.sql
var migrations embed.FS

// loadMigrations returns the embedded migrations sorted by version.
func loadMigrations() ([]sqlstore.Migration, error) {
	return sqlstore.LoadMigrations("sqlite store", migrations, "migrations")
}

// migrate applies the migrations db has not seen yet. It refuses a database whose schema is
// newer than this binary knows, rather than writing to tables it does not understand.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name    TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("sqlite store: migrations table: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("sqlite store: schema version: %w", err)
	}
	pending, err := sqlstore.Pending("sqlite store", ms, current)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if err := apply(ctx, db, m); err != nil {
			return err
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m sqlstore.Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite store: migration %s: %w", m.Name, err)
	}
	defer tx.Rollback()
	// Another process may have applied it between our version read and BEGIN IMMEDIATE.
	var done int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&done); err != nil {
		return fmt.Errorf("sqlite store: migration %s: %w", m.Name, err)
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("sqlite store: migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", m.Version, m.Name); err != nil {
		return fmt.Errorf("sqlite store: migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: migration %s: %w", m.Name, err)
	}
	return nil
}
