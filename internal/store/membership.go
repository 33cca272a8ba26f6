package store

import (
	"context"
	"time"
)

// Membership is the node registry of a shared store. Without a shared rate limiter, each node
// enforces rate / LiveNodes of a throttle, so the cluster as a whole admits about the configured
// rate; the heartbeat period and the liveness window bound how long a joining or dying node
// skews that share.
//
// Liveness is judged by the store's clock (not the nodes'), so clock skew between nodes does not
// count a node dead or alive.
type Membership interface {
	// Heartbeat records that nodeID is alive now (registering it on first call).
	Heartbeat(ctx context.Context, nodeID string) error
	// LiveNodes counts the nodes whose last heartbeat is at most within old.
	LiveNodes(ctx context.Context, within time.Duration) (int, error)
	// Leave unregisters nodeID at once (graceful shutdown), so the others take over its share
	// without waiting for its heartbeat to expire.
	Leave(ctx context.Context, nodeID string) error
}
