// Package control holds Tollgate's management use cases: validation, the invariants that span
// resources, and one store transaction per operation, so that a request either applies whole or
// changes nothing. Handlers in mgmt decode the wire request into the input types here (their
// members carry AWS's JSON names so the decode is direct) and encode the domain results back.
package control

import (
	"context"
	"errors"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// Config holds the account-level settings the operator controls.
type Config struct {
	AccountID       string
	AccountThrottle apigw.Throttle // GetAccount throttleSettings; read-only through the API
	ApiKeyVersion   string         // GetAccount apiKeyVersion
	// MaxResourcesPerAPI bounds the resources of one API, the root included (0: AWS's 300).
	MaxResourcesPerAPI int
}

// Service runs the management use cases against a store.
type Service struct {
	store store.Store
	cfg   Config
	now   func() time.Time
	usage UsageBackend
}

// New returns a Service. now may be nil (time.Now).
func New(st store.Store, cfg Config, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.ApiKeyVersion == "" {
		cfg.ApiKeyVersion = "4"
	}
	return &Service{store: st, cfg: cfg, now: now}
}

// AccountID is the account id used in ARNs and messages.
func (s *Service) AccountID() string { return s.cfg.AccountID }

// Now is the service clock, truncated to seconds like AWS's timestamps.
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Second) }

// update runs fn in a read-write transaction of region.
func (s *Service) update(ctx context.Context, region string, fn func(store.Tx) error) error {
	return s.store.Update(ctx, region, fn)
}

// view runs fn in a read-only transaction of region.
func (s *Service) view(ctx context.Context, region string, fn func(store.Tx) error) error {
	return s.store.View(ctx, region, fn)
}

// notFound maps store.ErrNotFound to the given client error and passes other errors through.
func notFound(err error, e *apigw.Error) error {
	if errors.Is(err, store.ErrNotFound) {
		return e
	}
	return err
}

// Page is a page of results with the cursor of the next page ("" on the last).
type Page[T any] struct {
	Items []T
	Next  string
}
