// Package store defines how Tollgate persists its configuration: one interface per aggregate,
// reached through transactions scoped to a region. Every backend (embedded SQLite, PostgreSQL)
// implements it and must pass the conformance suite in storetest.
//
// Contract for all backends:
//   - Update runs fn in a read-write transaction that is durably committed before Update returns
//     nil; if fn returns an error nothing it wrote is kept. Backends MAY run fn more than once when
//     they detect a serialization conflict, so fn must not have side effects outside the Tx.
//   - Put* methods do optimistic concurrency on the aggregate's Rev: Rev 0 inserts (ErrConflict if
//     the id exists), Rev n updates only the row stored at Rev n (ErrConflict otherwise); on success
//     the stored Rev is written back into the argument.
//   - Get* methods return ErrNotFound for a missing row. Ids are unique across regions, but a row
//     is only visible through transactions of its own region.
//   - Inserting a usage plan key, deployment or stage whose parent is missing in the region
//     returns ErrNotFound.
//   - A cursor the backend did not produce returns ErrBadCursor; Page.Limit <= 0 means no limit.
//   - Every committed write bumps the change sequence and wakes subscribers (see Changes); the
//     channel is closed when the subscriber's context ends or the store closes.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Sentinel errors every backend returns (wrapped or bare; test with errors.Is).
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflict")
	// ErrBadCursor reports a page cursor this list cannot have produced (a client's position
	// token from another list, or a forged one).
	ErrBadCursor = errors.New("store: invalid cursor")
)

// MemoryReleaser is a Store that keeps memory from reads already done and can hand it back
// (the embedded store's page caches and maps of its file). A loader calls it after a bulk read.
type MemoryReleaser interface {
	ReleaseMemory(ctx context.Context)
}

// Store is a configuration store.
type Store interface {
	// Update runs fn in a read-write transaction for region.
	Update(ctx context.Context, region string, fn func(Tx) error) error
	// View runs fn in a read-only transaction for region.
	View(ctx context.Context, region string, fn func(Tx) error) error
	// Regions lists the regions that hold any state.
	Regions(ctx context.Context) ([]string, error)
	// Changes returns the current change sequence and a channel that receives a value (coalesced)
	// after every commit that changed something, until ctx ends. The data plane rebuilds its
	// snapshot when woken.
	Changes(ctx context.Context) (seq int64, wake <-chan struct{}, err error)
	// Close releases the backend. Pending Update calls finish first.
	Close() error
}

// Page asks for one page of a list: the items after Cursor (an opaque string the previous page
// returned; "" for the first page), at most Limit of them (Limit > 0).
type Page struct {
	Cursor string
	Limit  int
}

// ApiKeyFilter narrows ListApiKeys. NamePrefix is a case-sensitive prefix ("" matches all, keys
// without a name never match a non-empty prefix); CustomerID an exact match when non-empty.
type ApiKeyFilter struct {
	NamePrefix string
	CustomerID string
}

// KeyIndexEntry is the part of an API key the data plane needs: its id, the SHA-256 of its value
// (the store keeps values sealed; the data plane matches x-api-key by hash) and whether it is
// enabled.
type KeyIndexEntry struct {
	ID      string
	Hash    [32]byte
	Enabled bool
}

// Tx is one transaction, scoped to one region. Lists return the page and the cursor of the next
// page ("" when this is the last one).
type Tx interface {
	// GetAccount returns the region's account, or ErrNotFound before it was first written.
	GetAccount() (*apigw.Account, error)
	PutAccount(a *apigw.Account) error

	GetApiKey(id string) (*apigw.ApiKey, error)
	GetApiKeyByValue(value string) (*apigw.ApiKey, error)
	PutApiKey(k *apigw.ApiKey) error
	// DeleteApiKey removes the key and its usage plan keys.
	DeleteApiKey(id string) error
	// ListApiKeys lists newest first.
	ListApiKeys(f ApiKeyFilter, p Page) ([]*apigw.ApiKey, string, error)

	GetUsagePlan(id string) (*apigw.UsagePlan, error)
	PutUsagePlan(u *apigw.UsagePlan) error
	// DeleteUsagePlan removes the plan and its usage plan keys.
	DeleteUsagePlan(id string) error
	// ListUsagePlans lists newest first; a non-empty keyID keeps the plans that have that key.
	ListUsagePlans(keyID string, p Page) ([]*apigw.UsagePlan, string, error)

	// PutApiKeys inserts new keys (Rev 0) several to a statement: an import's round trips, not
	// one per key. inserted[i] reports whether keys[i] went in; a key whose id or value exists
	// already is left out, with nothing of it written, as PutApiKey would refuse it.
	PutApiKeys(keys []*apigw.ApiKey) (inserted []bool, err error)
	// PutUsagePlanKeys inserts associations several to a statement; pairs that exist already are
	// kept as they are (ErrNotFound if a plan or key is missing, and then nothing is written).
	PutUsagePlanKeys(ks []*apigw.UsagePlanKey) error

	GetUsagePlanKey(planID, keyID string) (*apigw.UsagePlanKey, error)
	// PutUsagePlanKey inserts the association (ErrConflict if present).
	PutUsagePlanKey(k *apigw.UsagePlanKey) error
	DeleteUsagePlanKey(planID, keyID string) error
	// TouchUsagePlanKey logs a change of the association without writing it (ErrNotFound if
	// absent): its UpdateUsage allowance, kept with the counters, changed, and every node's
	// data plane must reload that one key.
	TouchUsagePlanKey(planID, keyID string) error
	// ListUsagePlanKeys lists a plan's keys, most recently added first, with the keys themselves;
	// namePrefix as in ApiKeyFilter.
	ListUsagePlanKeys(planID, namePrefix string, p Page) ([]*apigw.ApiKey, string, error)
	// PlanIDsOfKey lists the ids of the plans that contain the key.
	PlanIDsOfKey(keyID string) ([]string, error)
	// ListKeyIndex lists the region's keys newest first (as ListApiKeys) with only what the data
	// plane indexes. It reads columns, not documents, so loading a million keys into a snapshot
	// does not decode a million JSON documents. A non-empty stop is a cursor of SplitKeyIndex:
	// the list ends before the key it points at, where the next part begins.
	ListKeyIndex(p Page, stop string) ([]KeyIndexEntry, string, error)
	// SplitKeyIndex returns the cursors that cut ListKeyIndex's order into at most parts parts,
	// each spanning at least minSpan insertion positions, so that a loader can read the parts
	// side by side: part i is read from cursor i-1 ("" for the first) down to stop i ("" for
	// the last). It returns none when the index is too short to split.
	SplitKeyIndex(parts, minSpan int) ([]string, error)
	// KeyIndexOf returns the entries of that index of the keys among ids that exist, in no
	// particular order: what the data plane reads of the keys a write changed, without decoding
	// their documents or opening their sealed values; a few statements for thousands of keys
	// (the reload after an import reads 100,000 of them).
	KeyIndexOf(ids []string) ([]KeyIndexEntry, error)
	// PlansOfKeys is PlanIDsOfKey for many keys: each key among ids that is in a plan, with its
	// plans in the order PlanIDsOfKey lists them.
	PlansOfKeys(ids []string) (map[string][]string, error)
	// QuotaAllowances reads the UpdateUsage allowances of keys of one plan for the quota period
	// starting at periodStart, as Counters.SetAllowance wrote them: the keys among keyIDs with
	// one, with it. It reads in this transaction, so that a reader of a write's keys needs no
	// second one.
	QuotaAllowances(planID string, keyIDs []string, periodStart time.Time) (map[string]int64, error)
	// ListPlanKeyIDs lists the ids of every key in the plan, in id order, without reading the
	// keys: the snapshot only needs the membership.
	ListPlanKeyIDs(planID string) ([]string, error)

	GetRestApi(id string) (*apigw.RestApi, error)
	PutRestApi(a *apigw.RestApi) error
	// DeleteRestApi removes the API with its deployments and stages.
	DeleteRestApi(id string) error
	// ListRestApis lists in creation order.
	ListRestApis(p Page) ([]*apigw.RestApi, string, error)

	GetDeployment(apiID, id string) (*apigw.Deployment, error)
	// PutDeployment inserts (deployments are immutable once created).
	PutDeployment(d *apigw.Deployment) error
	DeleteDeployment(apiID, id string) error
	// ListDeployments lists in creation order.
	ListDeployments(apiID string, p Page) ([]*apigw.Deployment, string, error)

	GetStage(apiID, name string) (*apigw.Stage, error)
	PutStage(s *apigw.Stage) error
	DeleteStage(apiID, name string) error
	// ListStages lists all stages of an API in creation order.
	ListStages(apiID string) ([]*apigw.Stage, error)
}

// Clock is how backends and use cases read time; tests inject a fake.
type Clock func() time.Time

// Change kinds of the change log that an incremental snapshot update understands.
const (
	KindApiKey       = "apikey"
	KindUsagePlanKey = "usageplankey" // ID is "<planId>/<keyId>"
	KindUsagePlan    = "usageplan"
	KindAccount      = "account" // the region's account resource (nothing the data plane reads)
	// KindApiKeys is the keys a transaction wrote when they were too many for a row each (an
	// import): their ids, separated by newlines (SplitKeyIDs), for the ones that were created,
	// changed or deleted, or added to or removed from a plan.
	KindApiKeys = "apikeys"
)

// SplitKeyIDs returns the key ids of a KindApiKeys change.
func SplitKeyIDs(id string) []string {
	if id == "" {
		return nil
	}
	return strings.Split(id, "\n")
}

// Change is one aggregate a committed transaction wrote.
type Change struct{ Region, Kind, ID string }

// ChangeLog is implemented by stores whose change sequence orders commits (the embedded store's
// one writer; PostgreSQL's write lock). ChangesSince lists what was written after seq, up to last (the newest sequence
// it read). complete is false when the list cannot be trusted to hold every change: the log was
// pruned past seq, a bulk write left one marker instead of its rows, or there were more than
// max changes; the caller then rebuilds from the store.
type ChangeLog interface {
	ChangesSince(ctx context.Context, seq int64, max int) (changes []Change, last int64, complete bool, err error)
}
