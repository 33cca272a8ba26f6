package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/tollgate/tollgate/internal/config"
	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/limit/redislimit"
	"github.com/tollgate/tollgate/internal/limit/split"
	"github.com/tollgate/tollgate/internal/store"
)

// Membership timing for the split mode: a node counts as live for three missed heartbeats.
const (
	heartbeatEvery = 2 * time.Second
	liveWithin     = 3 * heartbeatEvery
)

// openLimiter chooses where throttle buckets live (README "Several nodes" states each mode's
// error bound):
//   - --counters redis://…: shared buckets in Redis, one atomic script per check;
//   - a shared store with membership (PostgreSQL) and no Redis: each node enforces rate/N and
//     burst/N of every limit, N = live nodes from heartbeats;
//   - otherwise (one node): in-process buckets.
//
// stop releases what it started (heartbeats, the Redis client, the node's membership).
func openLimiter(ctx context.Context, cfg config.Config, st backend, log *slog.Logger, onHeartbeatErr func()) (lim limit.Limiter, stop func(context.Context), err error) {
	if cfg.Counters != "" {
		policy, err := redislimit.ParsePolicy(cfg.CountersFailure)
		if err != nil {
			return nil, nil, err
		}
		rl, err := redislimit.Open(cfg.Counters, redislimit.Options{Policy: policy, Deadline: cfg.CountersDeadline,
			OnError: func(err error) { log.Warn("redis throttle check failed", "err", err) }})
		if err != nil {
			return nil, nil, err
		}
		log.Info("throttles shared through Redis", "on-failure", policy.String())
		return rl, func(context.Context) { _ = rl.Close() }, nil
	}
	m, ok := st.(store.Membership)
	if !ok {
		return limit.NewLocal(), func(context.Context) {}, nil
	}
	node := uuid.NewString()
	var live atomic.Int64
	beat := func(ctx context.Context) {
		if err := m.Heartbeat(ctx, node); err != nil {
			onHeartbeatErr()
			log.Warn("node heartbeat", "err", err)
			return
		}
		if n, err := m.LiveNodes(ctx, liveWithin); err == nil && n > 0 {
			if old := live.Swap(int64(n)); old != int64(n) {
				log.Info("live nodes changed", "live", n)
			}
		}
	}
	// Register before serving: a node that takes traffic before the others count it would let
	// the cluster over-admit until their next heartbeat.
	beat(ctx)
	bg, cancel := context.WithCancel(context.Background())
	go func() {
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				beat(bg)
			}
		}
	}()
	log.Info("throttles split across live nodes", "node", node, "live", live.Load())
	stop = func(ctx context.Context) {
		cancel()
		if err := m.Leave(ctx, node); err != nil {
			log.Warn("leaving the node table", "err", err)
		}
	}
	return split.New(split.Options{Nodes: func() int { return int(live.Load()) }}), stop, nil
}

// bucketBinder lets snapshots hold in-process buckets directly, so a request decides its plan
// and account throttles without a registry lookup. Only the local limiter has such buckets;
// shared (Redis) and split limiters must see every request, so they get none.
func bucketBinder(lim limit.Limiter) func(limit.BucketID, float64, int64, int64) *limit.Bucket {
	l, ok := lim.(*limit.Local)
	if !ok {
		return nil
	}
	return l.Bucket
}
