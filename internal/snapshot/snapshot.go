// Package snapshot is the data plane's immutable, fully compiled view of the configuration: the
// deployed route trees of every stage, API keys indexed by a hash of their value, usage plans with
// their stage bindings and throttles. A Snapshot is built off the request path and swapped in
// atomically; requests only read it. It holds no counters: limiter, quota and meter state live in
// their own packages and outlive snapshot swaps.
package snapshot

import (
	"crypto/sha256"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tollgate/tollgate/internal/accesslog"
	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/authorizer"
	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/meter"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/reqstats"
)

// Input is everything a snapshot is compiled from, read from the store in one pass.
type Input struct {
	Seq     int64
	Regions []RegionInput
}

// RegionInput is one region's configuration.
type RegionInput struct {
	Region      string
	Throttle    apigw.Throttle // account-level throttle
	Apis        []*apigw.RestApi
	Deployments []*apigw.Deployment
	Stages      []*apigw.Stage
	Plans       []*apigw.UsagePlan
	Keys        []KeyInput
	// KeyPages are more keys, in the pages a loader read them in. Build takes them after Keys
	// and drops each page from the input (sets it to nil) once it has copied it, so that the
	// pages of a large load can be collected while the snapshot is built, rather than be joined
	// into one more slice of every key first.
	KeyPages [][]KeyInput
	PlanKeys map[string][]string // plan id → key ids
	// Overrides are UpdateUsage allowances for the current periods, by plan id then key id.
	Overrides map[string]map[string]Override
}

// KeyCount is the number of keys in Keys and KeyPages.
func (in *RegionInput) KeyCount() int {
	n := len(in.Keys)
	for _, p := range in.KeyPages {
		n += len(p)
	}
	return n
}

// KeyInput is one API key as the snapshot needs it: its id, HashKey of its value (the store
// keeps values sealed and hands out hashes; the snapshot never holds a raw value) and whether
// it is enabled.
type KeyInput struct {
	ID      string
	Hash    [sha256.Size]byte
	Enabled bool
}

// Override is an UpdateUsage allowance for one key in one quota period.
type Override struct {
	PeriodStart time.Time
	Allowance   int64
}

// Snapshot is the compiled configuration.
type Snapshot struct {
	Seq     int64
	apis    map[string]*API
	regions map[string]*Region
}

// Region holds a region's keys and account throttle.
type Region struct {
	Name     string
	Throttle apigw.Throttle
	keys     atomic.Pointer[keyTable]
	// plans by id, and in the order the build bound them (UpdateKeys binds the same way).
	plans     map[string]*Plan
	planOrder []*Plan
	binder    *Binder
	account   atomic.Pointer[limit.Bucket]
}

// AccountBucket returns the in-process bucket of the account throttle, bound on first use at
// time now (Unix ns, the request's), or nil when the binder has no Bucket function: throttles
// then go through the Limiter each time.
func (r *Region) AccountBucket(now int64) *limit.Bucket {
	if b := r.account.Load(); b != nil {
		return b
	}
	if r.binder == nil || r.binder.Bucket == nil {
		return nil
	}
	b := r.binder.Bucket(limit.BucketID{Region: r.Name}, r.Throttle.RateLimit, r.Throttle.BurstLimit, now)
	r.account.CompareAndSwap(nil, b)
	return r.account.Load()
}

// API is a REST API with its deployed stages.
type API struct {
	ID           string
	Region       *Region
	ApiKeySource string
	// ExecuteDisabled: no invocation reaches the API, which answers 403 Forbidden as AWS does
	// where a caller cannot reach it: disableExecuteApiEndpoint is set (every Tollgate invocation
	// URL is the default endpoint), or the API is PRIVATE (reachable on AWS only through a VPC
	// endpoint, which Tollgate has none of).
	ExecuteDisabled bool
	stages          map[string]*Stage
}

// Stage is a callable stage: its deployment's compiled tree and live settings.
type Stage struct {
	API       *API
	Name      string
	Variables map[string]string
	// Stats are the stage's request statistics (nil without a Binder.Stats registry).
	Stats *reqstats.Stage
	// AccessLog is the stage's accessLogSettings.format, compiled (nil: the default line).
	AccessLog *accesslog.Format
	// Responses are the deployment's customised gateway responses (nil: AWS's defaults).
	Responses *GatewayResponses
	// BinaryMediaTypes are the deployment's (the API's at deployment time): request bodies of
	// these types reach a Lambda proxy integration base64-encoded.
	BinaryMediaTypes []string
	// Authorizers are the deployment's authorizers by id.
	Authorizers map[string]*Authorizer
	root        *node
}

// Method is a deployed method, compiled with what enforcement needs.
type Method struct {
	Stage          *Stage
	Verb           string // as declared ("ANY" included)
	ResourcePath   string // template, e.g. "/pets/{id}"
	ApiKeyRequired bool
	// Stats are the method's request statistics (nil without a Binder.Stats registry).
	Stats *reqstats.Method
	// AWSIAM: authorizationType AWS_IAM, so a request must be SigV4-signed for execute-api.
	AWSIAM bool
	// Setting is the stage method setting that throttles this method (its own entry, else "*/*"),
	// nil when the stage has none; SettingKey names it for the bucket.
	Setting    *apigw.MethodSetting
	SettingKey string
	// RequestParameters of the method (method.request.* → required).
	RequestParameters map[string]bool
	Integration       *Integration
	// Authorizer runs before the API key check (CUSTOM and COGNITO_USER_POOLS methods; nil
	// otherwise). Scopes are the method's authorizationScopes (Cognito access tokens).
	Authorizer *Authorizer
	Scopes     []string
}

// Integration is a compiled integration.
type Integration struct {
	Type              string
	HTTPMethod        string
	URI               string
	Timeout           time.Duration
	RequestParameters map[string]string
	RequestTemplates  map[string]string
	Passthrough       string
	Responses         []*IntegrationResponse // with a selection pattern, in status order
	Default           *IntegrationResponse   // no (or empty) selection pattern
}

// IntegrationResponse is a compiled integration response.
type IntegrationResponse struct {
	StatusCode         int
	Pattern            *regexp.Regexp // full match against the backend status
	ResponseParameters map[string]string
	ResponseTemplates  map[string]*string
}

// Key is an API key, found by the hash of its value.
type Key struct {
	ID      string
	Enabled bool
	hash    [sha256.Size]byte // its place in the key table
	// first is the key's binding to the first plan it was found in, valid for the stages that
	// plan covers. Almost every key is in one plan, which then costs no map and no extra object.
	first Binding
	// bindings maps each stage the key may call to the plan that grants it (at most one plan per
	// key per stage; the last plan listed wins). Only a key in several plans has it, and then it
	// is the whole truth (first is one of its values).
	bindings map[*Stage]*Binding
}

// A Key is made for every key of every region, a million on a large store, in blocks: its size
// is what a key costs (this fails to compile if it grows past 96 bytes).
var _ [96 - unsafe.Sizeof(Key{})]byte

// Binding is a key's membership in a plan that covers a stage. The per-key state that outlives
// snapshots (quota entry, usage counter, throttle bucket) is found on the key's first request in
// the Binder's KeyStates and cached, so a build does not create state for a million idle keys
// and later requests do no lookups for it.
type Binding struct {
	Plan *Plan
	key  *Key // the key bound (for its id): 8 bytes where a copy of the id's header took 16
	// Policy is the key's quota policy (nil without a quota): the plan's shared one, or the key's
	// own when an UpdateUsage override applies. The pointer is stable for the life of this
	// snapshot, which lets the quota entry skip its period maths.
	Policy *quota.Policy
	state  atomic.Pointer[keyState]
}

// KeyID is the id of the key bound.
func (b *Binding) KeyID() string { return b.key.ID }

// Quota returns the key's quota counter (nil without a quota or without a binder). The first
// call binds it; later calls only load pointers and do not allocate.
func (b *Binding) Quota() *quota.Entry {
	if b.Policy == nil {
		return nil
	}
	st := b.bound()
	if q := st.quota.Load(); q != nil {
		return q
	}
	p := b.Plan
	if p.binder.QuotaEntry == nil {
		return nil
	}
	st.quota.CompareAndSwap(nil, p.binder.QuotaEntry(p.Region, p.ID, b.key.ID))
	return st.quota.Load()
}

// Usage returns the counter of the key's admitted requests (nil without a Binder.Meter), bound
// like Quota.
func (b *Binding) Usage() *meter.KeyCounter {
	if u := &b.bound().usage; u.Counting() {
		return u
	}
	return nil
}

// Throttle returns the key's plan-level bucket with the plan's limits, made on first use at
// time now (Unix ns, the request's); nil when the plan has no throttle or the binder keeps no
// buckets in process. The bucket outlives snapshots with the key's state: a snapshot with other
// limits reconfigures it, at that request's instant, keeping the tokens it holds. (While an
// older snapshot still serves a request, the two may reconfigure it back and forth; each change
// keeps the tokens, capped at the smaller burst, so none are granted.)
func (b *Binding) Throttle(now int64) *limit.Bucket {
	p := b.Plan
	t := p.Throttle
	if t == nil || p.binder.Bucket == nil {
		return nil
	}
	st := b.bound()
	bk := st.throttle.Load()
	if bk == nil {
		st.throttle.CompareAndSwap(nil, limit.NewBucket(t.RateLimit, t.BurstLimit, now))
		bk = st.throttle.Load()
	}
	bk.Follow(t.RateLimit, t.BurstLimit, now)
	return bk
}

// bound returns the binding's state, finding or making it on first use. Without a KeyStates
// table (tests) each binding has its own.
func (b *Binding) bound() *keyState {
	if st := b.state.Load(); st != nil {
		return st
	}
	p := b.Plan
	var st *keyState
	if p.binder.States != nil {
		st = p.binder.States.get(p.binder.Meter, p.Region, p.ID, b.key.ID)
	} else {
		st = newKeyState(p.binder.Meter, p.Region, p.ID, b.key.ID)
	}
	if !b.state.CompareAndSwap(nil, st) {
		return b.state.Load()
	}
	return st
}

// Binder attaches state that outlives snapshots: quota entries, usage counters and throttle
// buckets. Any function may be nil (tests). They are called on a key's first request, from
// request goroutines and possibly concurrently, so they must be safe for that.
type Binder struct {
	// States is where each key's state is kept across snapshots; give every Build the same one.
	// Without it (tests) each binding makes its own state, and a new snapshot starts afresh.
	States *KeyStates
	// QuotaEntry makes a key's quota entry (quota.Counter.Entry): once per key and plan with
	// States, which keeps it.
	QuotaEntry func(region, planID, keyID string) *quota.Entry
	// Meter counts each key's admitted requests in a counter held in the key's state (nil: no
	// counting).
	Meter *meter.Meter
	// Bucket returns the in-process bucket of id set to these limits at time now (Unix ns, the
	// request's: the bucket is created full, or reconfigured keeping its tokens). Only an in-process
	// limiter has one (limit.Local); with a shared or split limiter it stays nil and every
	// request asks the Limiter. The region's account bucket comes from it; a key's plan bucket,
	// when it is set, is made with the key's state (see Binding.Throttle).
	Bucket func(id limit.BucketID, rate float64, burst int64, now int64) *limit.Bucket
	// Stats, if set, gives every method, stage and plan of a build its statistics objects, the
	// same ones as the previous build's for the same labels.
	Stats *reqstats.Registry
	// AuthorizerCache, if set, holds authorizer results across builds (nil: none cached).
	AuthorizerCache *authorizer.Cache
}

// Plan is a usage plan as enforced.
type Plan struct {
	ID         string
	Region     string
	Throttle   *apigw.Throttle
	Quota      *apigw.Quota
	QuotaSince time.Time
	// Stats are the plan's statistics (nil without a Binder.Stats registry).
	Stats *reqstats.Plan
	// stages are the stages the plan covers (a handful: a linear scan beats a map).
	stages []*Stage
	// policy is the quota policy the plan's keys without an override share.
	policy *quota.Policy
	binder *Binder
	sig    string // PlanSignature of the plan compiled
	// methodThrottles: per stage, per method, the plan's method-level throttle (replacing the
	// plan bucket for that method, spec §6 / §13 A6), with the key it was declared under.
	methodThrottles map[*Method]MethodThrottle
}

// MethodThrottle is a plan's per-method throttle and the map key it was declared under.
type MethodThrottle struct {
	Key      string
	Throttle apigw.Throttle
}

// AccessLogStages counts the stages with an accessLogSettings.format (the operator is told when
// they have no --access-log to go to).
func (s *Snapshot) AccessLogStages() int {
	n := 0
	for _, a := range s.apis {
		for _, st := range a.stages {
			if st.AccessLog != nil {
				n++
			}
		}
	}
	return n
}

// API returns the REST API with the given id, or nil.
func (s *Snapshot) API(id string) *API {
	if s == nil {
		return nil
	}
	return s.apis[id]
}

// Stage returns a stage of the API, or nil.
func (a *API) Stage(name string) *Stage { return a.stages[name] }

// Match finds the method for verb and path (after the stage; "" or "/" is the root), filling p
// with the captured path variables. nil when no resource has the verb (or ANY).
func (st *Stage) Match(verb, path string, p *Params) *Method {
	if st.root == nil {
		return nil
	}
	p.n = 0
	return st.root.match(verb, path, p)
}

// HashKey is the index hash of an API key value. The snapshot holds hashes, never raw values.
func HashKey(value string) [sha256.Size]byte { return sha256.Sum256([]byte(value)) }

// Binding returns the plan binding that lets k call stage st, or nil.
func (k *Key) Binding(st *Stage) *Binding {
	if k.bindings != nil {
		return k.bindings[st]
	}
	if k.first.Plan != nil && k.first.Plan.covers(st) {
		return &k.first
	}
	return nil
}

func (p *Plan) covers(st *Stage) bool {
	for _, s := range p.stages {
		if s == st {
			return true
		}
	}
	return false
}

// MethodThrottle returns the plan's method-level throttle for m, if it declares one.
func (p *Plan) MethodThrottle(m *Method) (MethodThrottle, bool) {
	t, ok := p.methodThrottles[m]
	return t, ok
}

// Build compiles a snapshot, binding per-key state through b.
func Build(in Input, b Binder) *Snapshot {
	s := &Snapshot{Seq: in.Seq, apis: map[string]*API{}, regions: make(map[string]*Region, len(in.Regions))}
	bind := &b
	if b.Stats != nil {
		gen := b.Stats.Begin()
		defer b.Stats.End(gen)
	}
	for i := range in.Regions {
		s.buildRegion(&in.Regions[i], bind)
	}
	return s
}

func (s *Snapshot) buildRegion(in *RegionInput, bind *Binder) {
	reg := &Region{Name: in.Region, Throttle: in.Throttle, binder: bind, plans: make(map[string]*Plan, len(in.Plans))}
	s.regions[in.Region] = reg
	deployments := make(map[string]*apigw.Deployment, len(in.Deployments))
	for _, d := range in.Deployments {
		deployments[d.ApiID+"/"+d.ID] = d
	}
	stagesByRef := make(map[string]*Stage, len(in.Stages)) // "<apiId>:<stage>"
	for _, a := range in.Apis {
		api := &API{ID: a.ID, Region: reg, ApiKeySource: a.ApiKeySource, ExecuteDisabled: a.DisableExecuteApiEndpoint || slices.Contains(a.EndpointConfiguration.Types, "PRIVATE"), stages: map[string]*Stage{}}
		s.apis[a.ID] = api
	}
	for _, st := range in.Stages {
		api := s.apis[st.ApiID]
		d := deployments[st.ApiID+"/"+st.DeploymentID]
		if api == nil || d == nil {
			continue
		}
		if d.ApiKeySource != "" {
			api.ApiKeySource = d.ApiKeySource
		}
		cs := &Stage{API: api, Name: st.StageName, Variables: st.Variables}
		if bind.Stats != nil {
			cs.Stats = bind.Stats.Stage(api.ID, st.StageName)
		}
		cs.Responses = compileGatewayResponses(d.GatewayResponses)
		cs.BinaryMediaTypes = d.BinaryMediaTypes
		cs.Authorizers = compileAuthorizers(cs, d, st.AuthorizerCacheEpoch, bind)
		if als := st.AccessLogSettings; als != nil && als.Format != "" {
			cs.AccessLog = accesslog.Compile(als.Format)
		}
		settings := normalizeSettings(st.MethodSettings)
		cs.root = compileTree(d.Resources, func(n *node, m *apigw.Method) *Method {
			cm := compileMethod(cs, n.path, m, settings)
			if bind.Stats != nil {
				cm.Stats = bind.Stats.Method(reqstats.MethodLabels{API: api.ID, Stage: st.StageName, Method: cm.Verb, Resource: cm.ResourcePath})
			}
			return cm
		})
		api.stages[st.StageName] = cs
		stagesByRef[st.ApiID+":"+st.StageName] = cs
	}
	// Keys are allocated in one block: a million small objects would cost a million allocations
	// and their headers.
	n := in.KeyCount()
	block := make([]Key, n)
	table := newKeyTable(n)
	i := 0
	copyKeys := func(keys []KeyInput) {
		for _, k := range keys {
			ck := &block[i]
			ck.ID, ck.Enabled, ck.hash = k.ID, k.Enabled, k.Hash
			i++
		}
	}
	copyKeys(in.Keys)
	for j, page := range in.KeyPages {
		copyKeys(page)
		in.KeyPages[j] = nil
	}
	table.fill(block)
	reg.keys.Store(table)
	for _, p := range in.Plans {
		cp := &Plan{ID: p.ID, Region: in.Region, Throttle: p.Throttle, Quota: p.Quota, QuotaSince: p.QuotaSince,
			binder: bind, methodThrottles: map[*Method]MethodThrottle{}}
		if bind.Stats != nil {
			cp.Stats = bind.Stats.Plan(p.ID)
		}
		cp.sig = PlanSignature(p)
		reg.plans[p.ID] = cp
		reg.planOrder = append(reg.planOrder, cp)
		for _, as := range p.ApiStages {
			st := stagesByRef[as.ApiID+":"+as.Stage]
			if st == nil {
				continue
			}
			cp.stages = append(cp.stages, st)
			if len(as.Throttle) > 0 {
				bindMethodThrottles(cp, st, as.Throttle)
			}
		}
		if p.Quota != nil {
			cp.policy = &quota.Policy{Quota: *p.Quota, Since: p.QuotaSince}
		}
		bindKeys(table, cp, in.PlanKeys[p.ID], in.Overrides[p.ID])
	}
}

// bindKeys binds the keys of a plan's key list to it. A long list is bound by two goroutines,
// each taking half: the lookups, each a cache miss over a large index, were a tenth of a
// million-key start. A plan lists a key once, so the halves write to different keys.
func bindKeys(t *keyTable, p *Plan, ids []string, overrides map[string]Override) {
	bind := func(ids []string) {
		for _, id := range ids {
			if k := t.key(id); k != nil {
				bindKey(k, p, overrides)
			}
		}
	}
	if len(ids) < parallelFill {
		bind(ids)
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { bind(ids[len(ids)/2:]) })
	bind(ids[:len(ids)/2])
	wg.Wait()
}

// bindKey adds k's membership of plan p. The first plan fills the key's embedded binding; a
// second one moves every binding into the per-stage map, later plans overriding earlier ones
// on a shared stage.
func bindKey(k *Key, p *Plan, overrides map[string]Override) {
	if len(p.stages) == 0 {
		return // a plan on no deployed stage grants nothing
	}
	b := &k.first
	if k.first.Plan != nil {
		if k.bindings == nil {
			k.bindings = make(map[*Stage]*Binding, len(k.first.Plan.stages)+len(p.stages))
			for _, st := range k.first.Plan.stages {
				k.bindings[st] = &k.first
			}
		}
		b = &Binding{}
		for _, st := range p.stages {
			k.bindings[st] = b
		}
	}
	b.Plan, b.key, b.Policy = p, k, p.policy
	if o, ok := overrides[k.ID]; ok && p.policy != nil {
		b.Policy = p.policy.WithOverride(o.PeriodStart, o.Allowance)
	}
}

// normalizeSettings keys a stage's method settings by "<resourcePath>/<VERB>" with the resource
// path unescaped and rooted ("test/GET" and "~1test/GET" → "/test/GET"; "*/*" stays).
func normalizeSettings(ms map[string]apigw.MethodSetting) map[string]normSetting {
	out := make(map[string]normSetting, len(ms))
	for k, v := range ms {
		v := v
		out[normalizeMethodKey(k)] = normSetting{key: k, s: &v}
	}
	return out
}

type normSetting struct {
	key string
	s   *apigw.MethodSetting
}

func normalizeMethodKey(k string) string {
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return k
	}
	path, verb := k[:i], strings.ToUpper(k[i+1:])
	if path == "*" {
		return "*/" + verb
	}
	path = strings.ReplaceAll(strings.ReplaceAll(path, "~1", "/"), "~0", "~")
	path = "/" + strings.TrimLeft(path, "/")
	return path + "/" + verb
}

func compileMethod(st *Stage, path string, m *apigw.Method, settings map[string]normSetting) *Method {
	cm := &Method{Stage: st, Verb: m.HTTPMethod, ResourcePath: path, ApiKeyRequired: m.ApiKeyRequired,
		AWSIAM: m.AuthorizationType == "AWS_IAM", RequestParameters: m.RequestParameters}
	if ns, ok := settings[path+"/"+m.HTTPMethod]; ok {
		cm.Setting, cm.SettingKey = ns.s, ns.key
	} else if ns, ok := settings["*/*"]; ok {
		cm.Setting, cm.SettingKey = ns.s, ns.key
	}
	if m.Integration != nil {
		cm.Integration = compileIntegration(m.Integration)
	}
	if m.AuthorizationType == "CUSTOM" || m.AuthorizationType == "COGNITO_USER_POOLS" {
		// An authorizer the deployment lacks cannot happen (methods are checked when written);
		// should it, the method refuses every request rather than run unauthorized.
		cm.Authorizer = st.Authorizers[m.AuthorizerID]
		if cm.Authorizer == nil {
			cm.Authorizer = &Authorizer{ID: m.AuthorizerID}
		}
		cm.Scopes = m.AuthorizationScopes
	}
	return cm
}

func compileIntegration(in *apigw.Integration) *Integration {
	ci := &Integration{Type: in.Type, HTTPMethod: in.HTTPMethod, URI: in.URI,
		Timeout:           time.Duration(in.TimeoutInMillis) * time.Millisecond,
		RequestParameters: in.RequestParameters, RequestTemplates: in.RequestTemplates,
		Passthrough: in.PassthroughBehavior}
	if ci.Timeout <= 0 {
		ci.Timeout = 29 * time.Second
	}
	for _, ir := range in.IntegrationResponses {
		code, _ := strconv.Atoi(ir.StatusCode)
		cr := &IntegrationResponse{StatusCode: code, ResponseParameters: ir.ResponseParameters, ResponseTemplates: ir.ResponseTemplates}
		if ir.SelectionPattern == nil || *ir.SelectionPattern == "" {
			ci.Default = cr
			continue
		}
		re, err := regexp.Compile("^(?:" + *ir.SelectionPattern + ")$")
		if err != nil {
			continue // a pattern Go cannot compile never matches
		}
		cr.Pattern = re
		ci.Responses = append(ci.Responses, cr)
	}
	return ci
}

// bindMethodThrottles resolves a plan stage's method throttle keys ("/pets/GET", "//GET",
// "*/*") against the stage's methods.
func bindMethodThrottles(p *Plan, st *Stage, throttles map[string]apigw.Throttle) {
	norm := make(map[string]MethodThrottle, len(throttles))
	for k, t := range throttles {
		norm[normalizeMethodKey(k)] = MethodThrottle{Key: k, Throttle: t}
	}
	st.root.walk(func(m *Method) {
		if t, ok := norm[m.ResourcePath+"/"+m.Verb]; ok {
			p.methodThrottles[m] = t
		} else if t, ok := norm["*/*"]; ok {
			p.methodThrottles[m] = t
		}
	})
}

func (n *node) walk(fn func(*Method)) {
	if n == nil {
		return
	}
	for _, m := range n.methods {
		fn(m)
	}
	if n.anyVerb != nil {
		fn(n.anyVerb)
	}
	for _, c := range n.literal {
		c.walk(fn)
	}
	n.param.walk(fn)
	n.greedy.walk(fn)
}
