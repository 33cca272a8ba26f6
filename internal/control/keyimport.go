package control

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/gcwindow"
	"github.com/tollgate/tollgate/internal/keyimport"
	"github.com/tollgate/tollgate/internal/store"
)

// Import messages; AWS's texts for these were never captured (spec §13 A9), they are Tollgate's.
const (
	msgImportFormat       = "Invalid format specified: '%s'. Must be one of: [csv]"
	msgImportUnknownPlan  = "Invalid Usage Plan ID specified: %s"
	msgImportFailed       = "API keys were not imported because of warnings (failonwarnings=true): "
	importWarningsInError = 100 // warnings listed in the failonwarnings error, the rest are counted
)

// ImportApiKeysInput is ImportApiKeys' request: the query's format and failonwarnings, and the
// raw file.
type ImportApiKeysInput struct {
	Format         string
	FailOnWarnings bool
	Body           []byte
}

// ImportApiKeysResult is ApiKeyIds: the ids of the imported keys in file order (a value listed
// twice yields its id twice) and one warning per rejected row.
type ImportApiKeysResult struct {
	IDs      []string
	Warnings []string
}

// ImportApiKeys imports a CSV key file (spec §3.12) in one transaction. A row whose value already
// exists overwrites that key's name, description and enabled flag (same id: "two API keys are
// identical if they have the same key value"); each listed usage plan gets a usage plan key. A row
// with a problem (bad field, unknown plan, a plan sharing a stage with another plan of the key) is
// skipped with a warning "Line <n>: <reason>". With failonwarnings=true any warning rolls the whole
// import back and is a 400 listing the warnings.
func (s *Service) ImportApiKeys(ctx context.Context, region string, in ImportApiKeysInput) (*ImportApiKeysResult, error) {
	if !strings.EqualFold(in.Format, "csv") {
		return nil, apigw.BadRequest(msgImportFormat, in.Format)
	}
	// An import allocates per row (parsing, documents, statements) and keeps little: collect as
	// it goes, rather than let its garbage double the heap of a large store (see gcwindow).
	defer gcwindow.Open()()
	// Its garbage is freed by the next collection, but the runtime keeps the pages mapped at
	// their peak until its scavenger gets round to them: hand them back now, off the request.
	defer func() { go debug.FreeOSMemory() }()
	first, err := keyimport.NewReader(in.Body) // header errors are 400s before any transaction
	if err != nil {
		return nil, err
	}
	var res *ImportApiKeysResult
	err = s.update(ctx, region, func(tx store.Tx) error {
		rd := first
		first = nil
		if rd == nil { // the store is running fn again: start over
			rd, _ = keyimport.NewReader(in.Body)
		}
		im := &keyImporter{tx: tx, now: s.Now(), plans: map[string]*apigw.UsagePlan{}, attached: map[string][]*apigw.UsagePlan{}}
		defer im.wait()
		var row keyimport.Row
		for rd.Next(&row) {
			if err := im.importRow(&row); err != nil {
				return err
			}
		}
		if err := im.drain(); err != nil {
			return err
		}
		im.finishResult()
		if in.FailOnWarnings && len(im.res.Warnings) > 0 {
			return importFailed(im.res.Warnings)
		}
		if err := im.flushAttachments(); err != nil {
			return err
		}
		res = &im.res
		return nil
	})
	return res, err
}

func importFailed(warnings []string) error {
	shown := warnings
	if len(shown) > importWarningsInError {
		shown = shown[:importWarningsInError]
	}
	msg := msgImportFailed + strings.Join(shown, "; ")
	if n := len(warnings) - len(shown); n > 0 {
		msg += "; and " + strconv.Itoa(n) + " more"
	}
	return &apigw.Error{Kind: apigw.KindBadRequest, Message: msg}
}

// keyImporter is the state of one import transaction. Plans are read once each and cached (nil
// for an unknown id); the slices are reused from row to row.
//
// Usage plan keys are not written row by row: they are collected and written after the last row,
// sorted by plan and key id. Key ids are random, so in file order every insert lands on a random
// page of the association's indexes; sorted, the inserts walk them in order, which roughly halves
// the time of a 100,000-key import into two plans on SQLite (15 s → 7 s). Within one import the
// associations therefore get their list order from the key ids, not from the file. attached
// remembers the plans each key gets in this import, for a later row with the same value (the store
// cannot see them yet).
//
// New keys are not inserted row by row either: rows that take the fast path wait in pending and
// go in importBatch at a time (store.Tx.PutApiKeys), one statement instead of a round trip each,
// which is what a PostgreSQL import spent its time on. A row that cannot wait (its value may
// exist) first flushes the pending ones, so every row still sees the rows before it; the
// result's ids and warnings keep the file's order.
type keyImporter struct {
	tx          store.Tx
	now         time.Time
	plans       map[string]*apigw.UsagePlan
	res         ImportApiKeysResult
	listed      []*apigw.UsagePlan // the row's plans
	current     []*apigw.UsagePlan // plans the key is already in, then those added so far
	attachments []planKeyPair
	attached    map[string][]*apigw.UsagePlan

	pending  []pendingKey
	spare    []pendingKey // the last batch's slice, for the next one
	inflight *batch       // the batch the store is inserting, nil when none
	ids      []string     // the key id of each row taken, in file order ("" once skipped)
	warnings []lineWarning
}

// importBatch is how many new keys go to the store in one PutApiKeys.
const importBatch = 2048

// batch is a PutApiKeys running on its own goroutine; done is closed when it returns.
type batch struct {
	rows     []pendingKey
	done     chan struct{}
	inserted []bool
	err      error
	panicked any
}

// pendingKey is a fast-path row waiting for its batch.
type pendingKey struct {
	row   keyimport.Row // a copy: the reader reuses its row
	key   *apigw.ApiKey
	plans []*apigw.UsagePlan
	slot  int // its place in ids
}

type lineWarning struct {
	line   int
	reason string
}

// planKeyPair is a usage plan key the import creates once every row has been read.
type planKeyPair struct{ planID, keyID string }

func (im *keyImporter) warn(line int, reason string) {
	im.warnings = append(im.warnings, lineWarning{line, reason})
}

// finishResult puts the ids and warnings in the result, in file order.
func (im *keyImporter) finishResult() {
	im.res.IDs = []string{}
	for _, id := range im.ids {
		if id != "" {
			im.res.IDs = append(im.res.IDs, id)
		}
	}
	slices.SortStableFunc(im.warnings, func(a, b lineWarning) int { return a.line - b.line })
	im.res.Warnings = nil
	for _, w := range im.warnings {
		im.res.Warnings = append(im.res.Warnings, keyimport.Warning(w.line, w.reason))
	}
}

// flushPending sends the waiting new keys to the store as one batch, on a goroutine of its own,
// so that the rows after them are parsed while the store inserts these (the two take the two
// cores of a small machine: a 100,000-key import spent a third of a second parsing between
// batches). It first settles the batch before, so batches go in file order and only one uses
// the transaction at a time.
func (im *keyImporter) flushPending() error {
	if err := im.settle(); err != nil {
		return err
	}
	if len(im.pending) == 0 {
		return nil
	}
	b := &batch{rows: im.pending, done: make(chan struct{})}
	im.pending, im.spare = im.spare[:0], nil
	keys := make([]*apigw.ApiKey, len(b.rows))
	for i, p := range b.rows {
		keys[i] = p.key
	}
	go func() {
		defer close(b.done)
		defer func() { b.panicked = recover() }() // re-raised by settle, where the store catches it
		b.inserted, b.err = im.tx.PutApiKeys(keys)
	}()
	im.inflight = b
	return nil
}

// drain inserts every waiting key and settles it: what a row that must see the rows before it
// (one that may update an existing key) and the end of the file wait for.
func (im *keyImporter) drain() error {
	if err := im.flushPending(); err != nil {
		return err
	}
	return im.settle()
}

// settle waits for the batch in flight, if any, and finishes its rows: the inserted ones are
// attached to their plans; a row whose value (or, rarely, id) turned out to exist takes the
// general path, in file order. Nothing else uses the transaction while a batch is in flight:
// every other call on it settles, or awaits, first.
func (im *keyImporter) settle() error {
	b := im.inflight
	if b == nil {
		return nil
	}
	im.inflight = nil
	<-b.done
	if b.panicked != nil {
		panic(b.panicked)
	}
	if b.err != nil {
		return b.err
	}
	for i, p := range b.rows {
		if b.inserted[i] {
			im.attach(p.slot, p.key.ID, p.plans)
			continue
		}
		im.listed = append(im.listed[:0], p.plans...)
		if err := im.importRowSlow(&p.row, p.slot); err != nil {
			return err
		}
	}
	clear(b.rows)
	im.spare = b.rows[:0]
	return nil
}

// await waits until the batch in flight, if any, has returned, and leaves its rows to settle:
// what a read of the transaction in the middle of a row does (settling there would run earlier
// rows' general path over the state of the row being read).
func (im *keyImporter) await() {
	if im.inflight != nil {
		<-im.inflight.done
	}
}

// wait waits for the batch in flight without finishing it: an import that failed must not
// return while a goroutine still uses its transaction.
func (im *keyImporter) wait() {
	im.await()
	im.inflight = nil
}

// importRow applies one row: every check runs before anything is written, so a rejected row
// leaves no trace.
func (im *keyImporter) importRow(row *keyimport.Row) error {
	if row.Problem != "" {
		im.warn(row.Line, row.Problem)
		return nil
	}
	im.listed = im.listed[:0]
	for _, id := range row.PlanIDs {
		p, err := im.plan(id)
		if err != nil {
			return err
		}
		if p == nil {
			im.warn(row.Line, fmt.Sprintf(msgImportUnknownPlan, id))
			return nil
		}
		im.listed = append(im.listed, p)
	}
	// Fast path: most rows of a big import are new keys. A new key's only plans are the listed
	// ones, so once they do not clash, inserting it directly saves the lookup by value; the
	// insert conflicts when the value exists (or, rarely, the id is taken), and the row then
	// takes the general path, nothing having been written.
	slot := len(im.ids)
	im.ids = append(im.ids, "")
	if !listedPlansClash(im.listed) {
		p := pendingKey{row: *row, key: im.newKey(row, apigw.NewID(apigw.ApiKeyIDLen)), plans: slices.Clone(im.listed), slot: slot}
		p.row.PlanIDs = slices.Clone(row.PlanIDs)
		im.pending = append(im.pending, p)
		if len(im.pending) == importBatch {
			return im.flushPending()
		}
		return nil
	}
	if err := im.drain(); err != nil { // this row must see the ones before it
		return err
	}
	return im.importRowSlow(row, slot)
}

// importRowSlow imports a row whose value may already exist, its id going to ids[slot].
func (im *keyImporter) importRowSlow(row *keyimport.Row, slot int) error {
	existing, err := im.tx.GetApiKeyByValue(row.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		existing = nil
	case err != nil:
		return err
	}
	keyID := apigw.NewID(apigw.ApiKeyIDLen)
	im.current = im.current[:0]
	if existing != nil {
		keyID = existing.ID
		if err := im.loadCurrent(keyID); err != nil {
			return err
		}
	}
	nCurrent := len(im.current)
	for _, p := range im.listed {
		if containsPlan(im.current, p.ID) {
			continue // already a key of that plan
		}
		if err := KeyPlanStageConflict(keyID, p, im.current); err != nil {
			im.warn(row.Line, err.Error())
			return nil
		}
		im.current = append(im.current, p)
	}
	if existing != nil {
		existing.Name, existing.Description, existing.Enabled = row.Name, row.Description, row.Enabled
		existing.LastUpdatedDate = im.now
		if err := im.tx.PutApiKey(existing); err != nil {
			return err
		}
	} else {
		k := im.newKey(row, keyID)
		if err := insertApiKey(im.tx, k); err != nil {
			return err
		}
		keyID = k.ID
	}
	im.attach(slot, keyID, im.current[nCurrent:])
	return nil
}

func (im *keyImporter) newKey(row *keyimport.Row, id string) *apigw.ApiKey {
	return &apigw.ApiKey{
		ID:              id,
		Value:           row.Key,
		Name:            row.Name,
		Description:     row.Description,
		Enabled:         row.Enabled,
		CreatedDate:     im.now,
		LastUpdatedDate: im.now,
	}
}

// attach schedules the key's new usage plan keys and records its id as row slot's.
func (im *keyImporter) attach(slot int, keyID string, plans []*apigw.UsagePlan) {
	for _, p := range plans {
		im.attachments = append(im.attachments, planKeyPair{p.ID, keyID})
	}
	if len(plans) > 0 {
		im.attached[keyID] = append(im.attached[keyID], plans...)
	}
	im.ids[slot] = keyID
}

// flushAttachments writes the scheduled usage plan keys in (plan, key) order. One that exists
// already is kept as it is.
func (im *keyImporter) flushAttachments() error {
	slices.SortFunc(im.attachments, func(a, b planKeyPair) int {
		if c := strings.Compare(a.planID, b.planID); c != 0 {
			return c
		}
		return strings.Compare(a.keyID, b.keyID)
	})
	pks := make([]*apigw.UsagePlanKey, len(im.attachments))
	for i, a := range im.attachments {
		pks[i] = &apigw.UsagePlanKey{PlanID: a.planID, KeyID: a.keyID, CreatedDate: im.now}
	}
	return im.tx.PutUsagePlanKeys(pks)
}

// listedPlansClash reports whether two of the plans share an API stage.
func listedPlansClash(plans []*apigw.UsagePlan) bool {
	for i := 1; i < len(plans); i++ {
		if KeyPlanStageConflict("", plans[i], plans[:i]) != nil {
			return true
		}
	}
	return false
}

// plan returns a usage plan through the cache; nil when it does not exist.
func (im *keyImporter) plan(id string) (*apigw.UsagePlan, error) {
	if p, ok := im.plans[id]; ok {
		return p, nil
	}
	im.await() // the transaction is the batch's until it returns
	p, err := im.tx.GetUsagePlan(id)
	if errors.Is(err, store.ErrNotFound) {
		p, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	im.plans[id] = p
	return p, nil
}

// loadCurrent fills im.current with the plans the key is in, including those earlier rows of
// this import gave it.
func (im *keyImporter) loadCurrent(keyID string) error {
	ids, err := im.tx.PlanIDsOfKey(keyID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		p, err := im.plan(id)
		if err != nil {
			return err
		}
		if p != nil {
			im.current = append(im.current, p)
		}
	}
	for _, p := range im.attached[keyID] {
		if !containsPlan(im.current, p.ID) {
			im.current = append(im.current, p)
		}
	}
	// Report clashes against other plans in id order, as checkStageConflicts does.
	slices.SortFunc(im.current, func(a, b *apigw.UsagePlan) int { return strings.Compare(a.ID, b.ID) })
	return nil
}

func containsPlan(plans []*apigw.UsagePlan, id string) bool {
	for _, p := range plans {
		if p.ID == id {
			return true
		}
	}
	return false
}

// KeyPlanStageConflict enforces "at most one usage plan per API key per API stage" (spec §3.6,
// §8): it returns the 409 (same text as checkStageConflicts) when adding the key keyID to plan
// would give it two plans for one stage, given the plans it is (or is being put) in. Unlike
// checkStageConflicts it reads nothing from the store, so the import can check a whole row
// against its cached plans before writing anything (a row is imported whole or not at all).
func KeyPlanStageConflict(keyID string, plan *apigw.UsagePlan, others []*apigw.UsagePlan) error {
	for _, o := range others {
		if o.ID == plan.ID {
			continue
		}
		for _, a := range plan.ApiStages {
			for _, b := range o.ApiStages {
				if a.ApiID == b.ApiID && a.Stage == b.Stage {
					return apigw.Conflict(msgPlanKeyConflict, keyID, plan.ID, o.ID, a.ApiID, a.Stage)
				}
			}
		}
	}
	return nil
}
