package config

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreOption(t *testing.T) {
	for _, tc := range []struct {
		name            string
		args            []string
		env             map[string]string
		backend, target string
		wantErr         string
		secret          string // must not appear in the error
	}{
		{name: "default is SQLite under the data dir", args: []string{"--data-dir", "/var/lib/tg"},
			backend: StoreSQLite, target: filepath.Join("/var/lib/tg", "tollgate.db")},
		{name: "sqlite absolute", args: []string{"--store", "sqlite:///srv/tg.db"}, backend: StoreSQLite, target: "/srv/tg.db"},
		{name: "sqlite relative", env: map[string]string{"TOLLGATE_STORE": "sqlite://data/tg.db"}, backend: StoreSQLite, target: "data/tg.db"},
		{name: "postgres", env: map[string]string{"TOLLGATE_STORE": "postgres://tg@db.internal:5432/tollgate?sslmode=require"},
			backend: StorePostgres, target: "postgres://tg@db.internal:5432/tollgate?sslmode=require"},
		{name: "postgresql scheme", args: []string{"--store", "postgresql://tg@127.0.0.1/tollgate"},
			backend: StorePostgres, target: "postgresql://tg@127.0.0.1/tollgate"},
		{name: "flag beats env", args: []string{"--store", "sqlite://a.db"}, env: map[string]string{"TOLLGATE_STORE": "postgres://x/y"},
			backend: StoreSQLite, target: "a.db"},
		{name: "sqlite without path", args: []string{"--store", "sqlite://"}, wantErr: "--store"},
		{name: "sqlite with query", args: []string{"--store", "sqlite://x.db?mode=ro"}, wantErr: "plain file path"},
		{name: "unknown scheme", args: []string{"--store", "mysql://u@h/db"}, wantErr: `unknown scheme "mysql"`},
		{name: "no scheme, password not echoed", args: []string{"--store", "u:hunter2@h/db"}, wantErr: "without a scheme", secret: "hunter2"},
		{name: "bad postgres url, password not echoed", env: map[string]string{"TOLLGATE_STORE": "postgres://u:hunter2@h:notaport/db"},
			wantErr: "invalid PostgreSQL connection string", secret: "hunter2"},
		{name: "bad postgres option", args: []string{"--store", "postgres://u@h/db?sslmode=sometimes"}, wantErr: "invalid PostgreSQL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load("serve", append([]string{"--master-key-file", "/etc/tollgate/master.key"}, tc.args...), env(tc.env), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
					t.Fatalf("error repeats the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			backend, target, err := c.StoreBackend()
			if err != nil || backend != tc.backend || target != tc.target {
				t.Fatalf("StoreBackend() = %q, %q, %v; want %q, %q", backend, target, err, tc.backend, tc.target)
			}
		})
	}
}
