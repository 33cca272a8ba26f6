// Package snapshot is the data plane's immutable, fully compiled view of the configuration: the
// deployed route trees of every stage, API keys indexed by a hash of their value, usage plans with
// their stage bindings and throttles. A Snapshot is built off the request path and swapped in
// atomically; requests only read it. It holds no counters: limiter, quota and meter state live in
// their own packages and outlive snapshot swaps.
package snapshot

import (
	"crypto/sha256"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/quota"
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
	Keys        []*apigw.ApiKey
	PlanKeys    map[string][]string // plan id → key ids
	// Overrides are UpdateUsage allowances for the current periods, by plan id then key id.
	Overrides map[string]map[string]Override
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
	keys     map[[sha256.Size]byte]*Key
}

// API is a REST API with its deployed stages.
type API struct {
	ID           string
	Region       *Region
	ApiKeySource string
	stages       map[string]*Stage
}

// Stage is a callable stage: its deployment's compiled tree and live settings.
type Stage struct {
	API       *API
	Name      string
	Variables map[string]string
	root      *node
}

// Method is a deployed method, compiled with what enforcement needs.
type Method struct {
	Stage          *Stage
	Verb           string // as declared ("ANY" included)
	ResourcePath   string // template, e.g. "/pets/{id}"
	ApiKeyRequired bool
	// Setting is the stage method setting that throttles this method (its own entry, else "*/*"),
	// nil when the stage has none; SettingKey names it for the bucket.
	Setting    *apigw.MethodSetting
	SettingKey string
	// RequestParameters of the method (method.request.* → required).
	RequestParameters map[string]bool
	Integration       *Integration
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
	// bindings maps each stage the key may call to the plan that grants it (at most one plan per
	// key per stage).
	bindings map[*Stage]*Binding
}

// Binding is a key's membership in a plan that covers a stage, with the per-key state that
// outlives snapshots bound once at build time, so a request does no lookups for it.
type Binding struct {
	Plan  *Plan
	KeyID string
	// Policy is the key's quota policy (nil without a quota); the pointer is stable for the life
	// of this snapshot, which lets the quota entry skip its period maths.
	Policy *quota.Policy
	// Quota is the key's quota counter (nil without a quota or without a binder).
	Quota *quota.Entry
	// Usage counts the key's admitted requests (nil without a binder).
	Usage UsageCounter
}

// UsageCounter counts admitted requests; Add must not block or allocate.
type UsageCounter interface {
	Add(now time.Time)
}

// Binder attaches state that outlives snapshots: quota entries and usage counters. Either
// function may be nil (tests).
type Binder struct {
	QuotaEntry func(region, planID, keyID string) *quota.Entry
	Usage      func(region, planID, keyID string) UsageCounter
}

// Plan is a usage plan as enforced.
type Plan struct {
	ID         string
	Region     string
	Throttle   *apigw.Throttle
	Quota      *apigw.Quota
	QuotaSince time.Time
	// methodThrottles: per stage, per method, the plan's method-level throttle (replacing the
	// plan bucket for that method, spec §6 / §13 A6), with the key it was declared under.
	methodThrottles map[*Method]MethodThrottle
}

// MethodThrottle is a plan's per-method throttle and the map key it was declared under.
type MethodThrottle struct {
	Key      string
	Throttle apigw.Throttle
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

// Key looks an API key up by the hash of its value.
func (r *Region) Key(hash [sha256.Size]byte) *Key { return r.keys[hash] }

// Binding returns the plan binding that lets k call stage st, or nil.
func (k *Key) Binding(st *Stage) *Binding { return k.bindings[st] }

// MethodThrottle returns the plan's method-level throttle for m, if it declares one.
func (p *Plan) MethodThrottle(m *Method) (MethodThrottle, bool) {
	t, ok := p.methodThrottles[m]
	return t, ok
}

// Build compiles a snapshot, binding per-key state through b.
func Build(in Input, b Binder) *Snapshot {
	s := &Snapshot{Seq: in.Seq, apis: map[string]*API{}, regions: map[string]*Region{}}
	for i := range in.Regions {
		s.buildRegion(&in.Regions[i], b)
	}
	return s
}

func (s *Snapshot) buildRegion(in *RegionInput, bind Binder) {
	reg := &Region{Name: in.Region, Throttle: in.Throttle, keys: make(map[[sha256.Size]byte]*Key, len(in.Keys))}
	s.regions[in.Region] = reg
	deployments := map[string]*apigw.Deployment{}
	for _, d := range in.Deployments {
		deployments[d.ApiID+"/"+d.ID] = d
	}
	stagesByRef := map[string]*Stage{} // "<apiId>:<stage>"
	for _, a := range in.Apis {
		api := &API{ID: a.ID, Region: reg, ApiKeySource: a.ApiKeySource, stages: map[string]*Stage{}}
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
		settings := normalizeSettings(st.MethodSettings)
		cs.root = compileTree(d.Resources, func(n *node, m *apigw.Method) *Method {
			return compileMethod(cs, n.path, m, settings)
		})
		api.stages[st.StageName] = cs
		stagesByRef[st.ApiID+":"+st.StageName] = cs
	}
	keys := map[string]*Key{}
	for _, k := range in.Keys {
		ck := &Key{ID: k.ID, Enabled: k.Enabled}
		keys[k.ID] = ck
		reg.keys[HashKey(k.Value)] = ck
	}
	for _, p := range in.Plans {
		cp := &Plan{ID: p.ID, Region: in.Region, Throttle: p.Throttle, Quota: p.Quota, QuotaSince: p.QuotaSince,
			methodThrottles: map[*Method]MethodThrottle{}}
		var stages []*Stage
		for _, as := range p.ApiStages {
			st := stagesByRef[as.ApiID+":"+as.Stage]
			if st == nil {
				continue
			}
			stages = append(stages, st)
			if len(as.Throttle) > 0 {
				bindMethodThrottles(cp, st, as.Throttle)
			}
		}
		overrides := in.Overrides[p.ID]
		for _, keyID := range in.PlanKeys[p.ID] {
			k := keys[keyID]
			if k == nil {
				continue
			}
			b := &Binding{Plan: cp, KeyID: keyID}
			if p.Quota != nil {
				b.Policy = &quota.Policy{Quota: *p.Quota, Since: p.QuotaSince}
				if o, ok := overrides[keyID]; ok {
					b.Policy.OverrideStart, b.Policy.Override = o.PeriodStart, o.Allowance
				}
				if bind.QuotaEntry != nil {
					b.Quota = bind.QuotaEntry(in.Region, p.ID, keyID)
				}
			}
			if bind.Usage != nil {
				b.Usage = bind.Usage(in.Region, p.ID, keyID)
			}
			for _, st := range stages {
				if k.bindings == nil {
					k.bindings = map[*Stage]*Binding{}
				}
				k.bindings[st] = b
			}
		}
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
		RequestParameters: m.RequestParameters}
	if ns, ok := settings[path+"/"+m.HTTPMethod]; ok {
		cm.Setting, cm.SettingKey = ns.s, ns.key
	} else if ns, ok := settings["*/*"]; ok {
		cm.Setting, cm.SettingKey = ns.s, ns.key
	}
	if m.Integration != nil {
		cm.Integration = compileIntegration(m.Integration)
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
