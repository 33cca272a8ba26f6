package postgres

import (
	"context"
	"fmt"
	"time"
)

// This file implements store.Membership (table in migrations/0003_nodes.sql). Timestamps are the
// database's now(), never a node's clock.

// forgetAfter is how long a node's row outlives its last heartbeat before another node's
// heartbeat deletes it: node ids are typically fresh per process, and the table should not grow
// with every restart.
const forgetAfter = "7 days"

// Heartbeat implements store.Membership.
func (s *Store) Heartbeat(ctx context.Context, nodeID string) error {
	return s.counterExec(ctx, "heartbeat", `WITH forgotten AS (
			DELETE FROM nodes WHERE heartbeat_at < now() - interval '`+forgetAfter+`' AND id <> $1
		)
		INSERT INTO nodes (id, heartbeat_at) VALUES ($1, now())
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, nodeID)
}

// LiveNodes implements store.Membership.
func (s *Store) LiveNodes(ctx context.Context, within time.Duration) (int, error) {
	done, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	var n int
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE heartbeat_at >= now() - $1::bigint * interval '1 microsecond'`,
		within.Microseconds()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres store: live nodes: %w", err)
	}
	return n, nil
}

// Leave implements store.Membership.
func (s *Store) Leave(ctx context.Context, nodeID string) error {
	return s.counterExec(ctx, "leave", "DELETE FROM nodes WHERE id = $1", nodeID)
}
