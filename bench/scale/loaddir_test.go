package scale

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/gateway"
	"github.com/tollgate/tollgate/internal/seal"
	"github.com/tollgate/tollgate/internal/snapshot"
	"github.com/tollgate/tollgate/internal/store/sqlite"
)

// BenchmarkLoadDir times what a start does with the data directory TestScale left behind
// (TOLLGATE_SCALE_DIR): open the store, gateway.Load, snapshot.Build. With
// TOLLGATE_SCALE_CPUPROFILE it profiles the load and build.
func BenchmarkLoadDir(b *testing.B) {
	dir := envDir(b)
	keys, err := seal.Load(filepath.Join(dir, "master.key"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ctx := context.Background()
		start := time.Now()
		st, err := sqlite.Open(ctx, filepath.Join(dir, "tollgate.db"), keys)
		if err != nil {
			b.Fatal(err)
		}
		opened := time.Since(start)
		stop := startCPUProfile(b)
		in, err := gateway.Load(ctx, st, st, apigw.Throttle{RateLimit: 10000, BurstLimit: 5000}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		loaded := time.Since(start)
		snap := snapshot.Build(in, snapshot.Binder{})
		built := time.Since(start)
		stop()
		b.Logf("open %v, load %v, build %v: %v", opened.Round(time.Millisecond), (loaded - opened).Round(time.Millisecond),
			(built - loaded).Round(time.Millisecond), built.Round(time.Millisecond))
		_ = snap
		st.Close()
	}
}

// envDir is TOLLGATE_SCALE_DIR, or a skip.
func envDir(b *testing.B) string {
	dir := os.Getenv("TOLLGATE_SCALE_DIR")
	if _, err := os.Stat(filepath.Join(dir, "tollgate.db")); dir == "" || err != nil {
		b.Skip("set TOLLGATE_SCALE_DIR to a data directory TestScale filled")
	}
	return dir
}
