package main

import (
	"context"
	"fmt"

	"github.com/tollgate/tollgate/internal/config"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/postgres"
	"github.com/tollgate/tollgate/internal/store/sqlite"
)

// backend is what serve needs from a store: configuration and counters. The PostgreSQL backend
// also implements store.Membership (type-assert for it).
type backend interface {
	store.Store
	store.Counters
}

// openStore opens the backend --store selects (validated by config.Load): the embedded SQLite
// file, or a PostgreSQL database shared with the other nodes.
func openStore(ctx context.Context, cfg config.Config) (backend, error) {
	kind, target, err := cfg.StoreBackend()
	if err != nil {
		return nil, err
	}
	switch kind {
	case config.StoreSQLite:
		return sqlite.Open(ctx, target)
	case config.StorePostgres:
		return postgres.Open(ctx, target, postgres.Options{})
	}
	return nil, fmt.Errorf("store backend %q not built in", kind)
}
