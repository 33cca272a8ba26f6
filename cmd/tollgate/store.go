package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/tollgate/tollgate/internal/config"
	"github.com/tollgate/tollgate/internal/datadir"
	"github.com/tollgate/tollgate/internal/meter"
	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/postgres"
	"github.com/tollgate/tollgate/internal/store/sqlite"
)

// backend is what serve needs from a store: configuration and counters. The PostgreSQL backend
// also implements store.Membership (type-assert for it).
type backend interface {
	store.Store
	store.Counters
	// Reseal re-encrypts every API key value under the sealing master key.
	Reseal(ctx context.Context) (int, error)
}

// openStore opens the backend --store selects (validated by config.Load): the embedded SQLite
// file, or a PostgreSQL database shared with the other nodes. The SQLite file's directory is
// locked first (one process per data directory); release, to call after closing the store,
// unlocks it. keys is the master keyring (see masterKeys), nil to load the configured one.
func openStore(ctx context.Context, cfg config.Config, keys *seal.Keyring, log *slog.Logger) (st backend, release func(), err error) {
	kind, target, err := cfg.StoreBackend()
	if err != nil {
		return nil, nil, err
	}
	// The data directory holds the SQLite store, or with PostgreSQL the node's usage journal:
	// either way one process at a time.
	lock, err := datadir.Acquire(nodeDir(cfg))
	if err != nil {
		return nil, nil, err
	}
	unlock := func() { lock.Release() }
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	if keys == nil {
		if keys, err = masterKeys(cfg, log); err != nil {
			return nil, nil, err
		}
	}
	switch kind {
	case config.StoreSQLite:
		st, err = sqlite.Open(ctx, target, keys)
	case config.StorePostgres:
		st, err = postgres.Open(ctx, target, keys, postgres.Options{})
	default:
		err = fmt.Errorf("store backend %q not built in", kind)
	}
	if err != nil {
		return nil, nil, err
	}
	return st, unlock, nil
}

// nodeDir is the directory this node keeps its own files in: the SQLite store's, or --data-dir
// with PostgreSQL.
func nodeDir(cfg config.Config) string {
	if kind, target, err := cfg.StoreBackend(); err == nil && kind == config.StoreSQLite {
		return filepath.Dir(target)
	}
	return cfg.DataDir
}

// openMeter opens the usage meter on the node's usage journal (usage.journal in nodeDir),
// flushing what a process that died left there before anything is served.
func openMeter(ctx context.Context, cfg config.Config, st store.Counters, log *slog.Logger, opt meter.Options) (*meter.Meter, error) {
	path := filepath.Join(nodeDir(cfg), "usage.journal")
	m, rec, err := meter.Open(ctx, st, path, opt)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		log.Warn("no usage journal on this system: usage not yet flushed is lost if the process dies")
	case m == nil:
		return nil, err
	case err != nil:
		log.Warn("usage journal: recovered usage not flushed yet, kept for the next flush", "err", err)
	}
	if rec.Discarded != "" {
		log.Warn("usage journal not used", "path", path, "reason", rec.Discarded)
	}
	if rec.Counters > 0 {
		log.Info("usage journal: flushed the usage a previous process left", "keys", rec.Counters, "requests", rec.Requests)
	}
	return m, nil
}

// masterKeyPath is the master key file: --master-key-file, or master.key beside the SQLite
// database.
func masterKeyPath(cfg config.Config) (string, error) {
	if cfg.MasterKeyFile != "" {
		return cfg.MasterKeyFile, nil
	}
	kind, target, err := cfg.StoreBackend()
	if err != nil {
		return "", err
	}
	if kind != config.StoreSQLite { // config.Load refuses this; kept as a guard
		return "", fmt.Errorf("--master-key-file is required with a %s store", kind)
	}
	return filepath.Join(filepath.Dir(target), "master.key"), nil
}

// masterKeys loads the master keyring. With no --master-key-file on the embedded store, the
// default file is generated at first start (mode 0600) and that is logged: the operator must
// back it up, apart from the database, or lose every stored key value with it.
func masterKeys(cfg config.Config, log *slog.Logger) (*seal.Keyring, error) {
	path, err := masterKeyPath(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.MasterKeyFile != "" {
		return seal.Load(path)
	}
	kr, created, err := seal.LoadOrCreate(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("generated a master key file (mode 0600): API key values are encrypted under it; back it up apart from the database, or move it and pass --master-key-file",
			"path", path, "key-id", kr.ActiveID())
	}
	return kr, nil
}

// rotateMasterKey re-encrypts every stored API key value under a new master key: it writes the
// new key ahead of the old ones in the master key file, re-seals the values, then leaves only
// the new key. A run cut short can be run again. The server must be stopped (on SQLite the
// data directory lock enforces it; on PostgreSQL stop every node first: a node still on the old
// key could not read values sealed under the new one).
func rotateMasterKey(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	path, err := masterKeyPath(cfg)
	if err != nil {
		return err
	}
	if _, err := seal.Load(path); err != nil { // never create one here: there is nothing to rotate
		return err
	}
	kind, target, _ := cfg.StoreBackend()
	if kind == config.StoreSQLite {
		// Check the lock before writing the key file: a running server would not know the new key.
		lock, err := datadir.Acquire(filepath.Dir(target))
		if err != nil {
			return err
		}
		lock.Release()
	}
	rot, err := seal.BeginRotation(path)
	if err != nil {
		return err
	}
	st, release, err := openStore(ctx, cfg, rot.Keyring, log)
	if err != nil {
		return err
	}
	n, err := st.Reseal(ctx)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	release()
	if err != nil {
		return fmt.Errorf("re-encrypting API key values (run rotate-master-key again to finish): %w", err)
	}
	if err := rot.Finish(); err != nil {
		return err
	}
	log.Info("master key rotated", "path", path, "key-id", rot.Keyring.ActiveID(), "api-keys", n)
	return nil
}
