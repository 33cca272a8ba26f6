package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate/tollgate/internal/store/sqlstore"
)

// migrations holds the schema history. Files are named NNNN_description.sql and applied in order;
// never edit a released file: add the next one.
//
//go:embed migrations/*.sql
var migrations embed.FS

// loadMigrations returns the embedded migrations sorted by version.
func loadMigrations() ([]sqlstore.Migration, error) {
	return sqlstore.LoadMigrations("postgres store", migrations, "migrations")
}

// migrate brings the schema up to date in ONE transaction that first takes a transaction-scoped
// advisory lock: when several nodes start at once, the first applies everything and commits, the
// others wait on the lock and then find nothing left to do. DDL is transactional in PostgreSQL,
// so a crash leaves the schema at the old version, never half-migrated. A schema newer than this
// binary is refused rather than written to with assumptions it does not know.
func migrate(ctx context.Context, pool *pgxpool.Pool, lockKey int64) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			return fmt.Errorf("postgres store: migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("postgres store: migrations table: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return fmt.Errorf("postgres store: schema version: %w", err)
		}
		pending, err := sqlstore.Pending("postgres store", ms, current)
		if err != nil {
			return err
		}
		for _, m := range pending {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("postgres store: migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return fmt.Errorf("postgres store: migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}
