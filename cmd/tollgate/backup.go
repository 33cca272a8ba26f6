package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tollgate/tollgate/internal/config"
	"github.com/tollgate/tollgate/internal/datadir"
	"github.com/tollgate/tollgate/internal/store/sqlite"
)

// takeFlag removes --name VALUE (or --name=VALUE, one or two dashes) from args, for the options
// of one subcommand that serve does not have; the rest goes to config.Load.
func takeFlag(args []string, name string) (value string, rest []string, err error) {
	found := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		flag := strings.TrimLeft(a, "-")
		if a == flag || len(a)-len(flag) > 2 {
			rest = append(rest, a)
			continue
		}
		switch {
		case flag == name:
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("--%s needs a value", name)
			}
			value, found = args[i+1], true
			i++
		case strings.HasPrefix(flag, name+"="):
			value, found = strings.TrimPrefix(flag, name+"="), true
		default:
			rest = append(rest, a)
		}
	}
	if !found || value == "" {
		for _, a := range args {
			if a == "-h" || a == "--help" || a == "-help" {
				return "", nil, flag.ErrHelp
			}
		}
		return "", nil, fmt.Errorf("--%s FILE is required", name)
	}
	return value, rest, nil
}

// sqliteTarget is the embedded store's database file, or an error naming what to use instead.
func sqliteTarget(cfg config.Config) (string, error) {
	kind, target, err := cfg.StoreBackend()
	if err != nil {
		return "", err
	}
	if kind != config.StoreSQLite {
		return "", errors.New("the store is PostgreSQL: back it up with pg_dump and restore it with pg_restore (README, Backup and restore)")
	}
	return target, nil
}

// backupCmd is `tollgate backup --out FILE`: an online copy of the embedded store, taken while
// the server serves (it reads the same flags, environment and config file as serve).
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	out, rest, err := takeFlag(args, "out")
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "tollgate backup --out FILE [the serve flags that locate the store: --data-dir, --store, --config]")
		_, err = config.Load("backup", []string{"-h"}, getenv, stderr)
		return err
	}
	if err != nil {
		return err
	}
	cfg, err := config.Load("backup", rest, getenv, stderr)
	if err != nil {
		return err
	}
	target, err := sqliteTarget(cfg)
	if err != nil {
		return err
	}
	if err := sqlite.Backup(ctx, target, out); err != nil {
		return err
	}
	key, _ := masterKeyPath(cfg)
	fmt.Fprintf(stdout, "backed up %s to %s\nThe backup holds API key values sealed under the master key (%s): keep a copy of that key, apart from the backup; a restore needs it.\n", target, out, key)
	return nil
}

// restoreCmd is `tollgate restore --from FILE`: the backup replaces a stopped node's store.
func restoreCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	from, rest, err := takeFlag(args, "from")
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, "tollgate restore --from FILE [the serve flags that locate the store: --data-dir, --store, --config]")
		_, err = config.Load("restore", []string{"-h"}, getenv, stderr)
		return err
	}
	if err != nil {
		return err
	}
	cfg, err := config.Load("restore", rest, getenv, stderr)
	if err != nil {
		return err
	}
	target, err := sqliteTarget(cfg)
	if err != nil {
		return err
	}
	// A running server on the directory would keep the old database open: refuse.
	lock, err := datadir.Acquire(filepath.Dir(target))
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := sqlite.Restore(ctx, target, from); err != nil {
		return err
	}
	key, _ := masterKeyPath(cfg)
	fmt.Fprintf(stdout, "restored %s from %s\nStart the server with the master key the backup was made under (%s).\n", target, from, key)
	return nil
}
