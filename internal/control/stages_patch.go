package control

import (
	"math"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// stagePathList is the list AWS prints in UpdateStage's "Invalid method setting path" error,
// verbatim, including its missing commas (addendum §6.8). Clients compare the whole text.
const stagePathList = "[/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, /accessLogSettings/destinationArn, /accessLogSettings/format, /{resourcePath}/{httpMethod}/metrics/enabled, /{resourcePath}/{httpMethod}/logging/dataTrace, /{resourcePath}/{httpMethod}/logging/loglevel, /{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit/{resourcePath}/{httpMethod}/caching/ttlInSeconds, /{resourcePath}/{httpMethod}/caching/enabled, /{resourcePath}/{httpMethod}/caching/dataEncrypted, /{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, /{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, /*/*/metrics/enabled, /*/*/logging/dataTrace, /*/*/logging/loglevel, /*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds, /*/*/caching/enabled, /*/*/caching/dataEncrypted, /*/*/caching/requireAuthorizationForCacheControl, /*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{variable_name}, /tracingEnabled]"

// stageWildcardKey is the methodSettings key of the stage-wide defaults.
const stageWildcardKey = "*/*"

func invalidSettingPath(path string) error {
	return apigw.BadRequest("Invalid method setting path: %s. Must be one of: %s", path, stagePathList)
}

// noMethodSetting is the recorded error for removing what is not there; the trailing space is
// AWS's.
func noMethodSetting(key string) error {
	return apigw.BadRequest("Cannot remove method setting %s because there is no method setting for this method ", key)
}

// defaultMethodSetting is a new methodSettings entry (§2.8): throttles inherit the account's.
func (s *Service) defaultMethodSetting() apigw.MethodSetting {
	t := s.cfg.AccountThrottle
	if t.BurstLimit == 0 && t.RateLimit == 0 {
		t = apigw.Throttle{BurstLimit: 5000, RateLimit: 10000}
	}
	return apigw.MethodSetting{
		ThrottlingBurstLimit:                   t.BurstLimit,
		ThrottlingRateLimit:                    t.RateLimit,
		CacheTTLInSeconds:                      300,
		RequireAuthorizationForCacheControl:    true,
		UnauthorizedCacheControlHeaderStrategy: "SUCCEED_WITH_RESPONSE_HEADER",
	}
}

// stagePatcher applies UpdateStage operations to a stage loaded in tx. Errors leave the
// transaction to be rolled back, so a partly patched stage is never stored.
type stagePatcher struct {
	tx       store.Tx
	st       *apigw.Stage
	defaults apigw.MethodSetting
}

func (p *stagePatcher) apply(op patch.Op) error {
	st := p.st
	switch path := op.Path; {
	case path == "/deploymentId":
		if op.Op == "copy" && op.From == "/canarySettings/deploymentId" {
			return apigw.BadRequest(msgCanaryUnsupported)
		}
		return stageScalarOp(op, func(v string) error {
			if err := checkDeploymentExists(p.tx, st.ApiID, v); err != nil {
				return err
			}
			st.DeploymentID = v
			return nil
		}, nil)
	case path == "/description":
		return stageScalarOp(op, func(v string) error { st.Description = v; return nil }, func() { st.Description = "" })
	case path == "/clientCertificateId":
		return stageScalarOp(op, func(v string) error { st.ClientCertificateID = v; return nil }, func() { st.ClientCertificateID = "" })
	case path == "/tracingEnabled":
		return stageScalarOp(op, func(v string) error { st.TracingEnabled = patch.ParseBool(v); return nil }, func() { st.TracingEnabled = false })
	case path == "/cacheClusterEnabled":
		return stageScalarOp(op, func(v string) error {
			on := patch.ParseBool(v)
			applyCacheCluster(st, &on, nil)
			return nil
		}, func() { st.CacheClusterEnabled = false })
	case path == "/cacheClusterSize":
		return stageScalarOp(op, func(v string) error {
			if !validCacheClusterSize(v) {
				return apigw.BadRequest("Invalid cache cluster size specified: %s. Must be one of: [%s]", v, strings.Join(cacheClusterSizes, ", "))
			}
			st.CacheClusterSize = v
			return nil
		}, nil)
	case strings.HasPrefix(path, "/variables/"):
		return p.variable(op)
	case path == "/accessLogSettings" || strings.HasPrefix(path, "/accessLogSettings/"):
		return p.accessLog(op)
	case path == "/canarySettings" || strings.HasPrefix(path, "/canarySettings/"):
		return canaryOp(op)
	}
	return p.methodSetting(op)
}

// stageScalarOp applies add/replace through set and remove through clear (nil: remove not allowed).
func stageScalarOp(op patch.Op, set func(string) error, clear func()) error {
	switch {
	case op.Op == "add" || op.Op == "replace":
		return set(op.V())
	case op.Op == "remove" && clear != nil:
		clear()
		return nil
	}
	return patch.UnsupportedOp(op.Path, op.Op)
}

// variable handles /variables/<name> (the name may use ~1 escapes).
func (p *stagePatcher) variable(op patch.Op) error {
	name := patch.Unescape(strings.TrimPrefix(op.Path, "/variables/"))
	if name == "" {
		return invalidSettingPath(op.Path)
	}
	switch op.Op {
	case "add", "replace":
		if p.st.Variables == nil {
			p.st.Variables = map[string]string{}
		}
		p.st.Variables[name] = op.V()
	case "remove":
		delete(p.st.Variables, name)
		if len(p.st.Variables) == 0 {
			p.st.Variables = nil
		}
	default:
		return patch.UnsupportedOp(op.Path, op.Op)
	}
	return nil
}

// accessLog handles /accessLogSettings and its two fields, with the recorded texts.
func (p *stagePatcher) accessLog(op patch.Op) error {
	sub := strings.TrimPrefix(op.Path, "/accessLogSettings")
	als := p.st.AccessLogSettings
	if als == nil {
		als = &apigw.AccessLogSettings{}
	}
	switch op.Op {
	case "add", "replace":
		if sub != "/destinationArn" && sub != "/format" {
			return apigw.BadRequest("Invalid accessLogSettings path. Must be one of : [/accessLogSettings/destinationArn, /accessLogSettings/format]")
		}
		if op.V() == "" {
			return apigw.BadRequest("Access Log value must not be empty")
		}
		if sub == "/destinationArn" {
			als.DestinationArn = op.V()
		} else {
			als.Format = op.V()
		}
	case "remove":
		switch sub {
		case "":
			als = &apigw.AccessLogSettings{}
		case "/destinationArn":
			als.DestinationArn = ""
		case "/format":
			als.Format = ""
		default:
			return noMethodSetting("accessLogSettings" + sub)
		}
	default:
		return patch.UnsupportedOp(op.Path, op.Op)
	}
	p.st.AccessLogSettings = als
	if *als == (apigw.AccessLogSettings{}) {
		p.st.AccessLogSettings = nil
	}
	return nil
}

// stageCanaryPaths are the canary settings AWS lets UpdateStage replace. Tollgate runs no canaries,
// so only the recorded refusals are reproduced; removing canary settings is a no-op.
var stageCanaryPaths = []string{"/canarySettings/deploymentId", "/canarySettings/percentTraffic", "/canarySettings/useStageCache"}

func canaryOp(op patch.Op) error {
	known := strings.HasPrefix(op.Path, "/canarySettings/stageVariableOverrides/")
	for _, c := range stageCanaryPaths {
		known = known || op.Path == c
	}
	switch {
	case op.Op == "remove" && (known || op.Path == "/canarySettings"):
		return nil
	case !known:
		return invalidSettingPath(op.Path)
	case op.Op == "add":
		return apigw.BadRequest("Invalid add operation with path: %s", op.Path)
	case op.Op == "replace":
		return apigw.BadRequest(msgCanaryUnsupported)
	}
	return patch.UnsupportedOp(op.Path, op.Op)
}

// methodSetting handles /<resourcePath>/<METHOD>/<group>/<setting> and remove /<resourcePath>/<METHOD>.
func (p *stagePatcher) methodSetting(op patch.Op) error {
	ms := p.st.MethodSettings
	if op.Op == "remove" {
		if key, ok := methodSettingKey(op.Path); ok {
			if _, exists := ms[key]; !exists {
				return noMethodSetting(key)
			}
			delete(ms, key)
			return nil
		}
	}
	key, setting, ok := parseMethodSettingPath(op.Path)
	if !ok {
		return invalidSettingPath(op.Path)
	}
	m, exists := ms[key]
	switch op.Op {
	case "add", "replace":
		if !exists {
			m = p.newEntry(key)
		}
		if err := setMethodSetting(&m, setting, op.V()); err != nil {
			return err
		}
	case "remove":
		if !exists {
			return noMethodSetting(key)
		}
		resetMethodSetting(&m, setting, p.defaults)
	default:
		return patch.UnsupportedOp(op.Path, op.Op)
	}
	ms[key] = m
	return nil
}

// newEntry is a new methodSettings entry: a per-method one starts as a copy of the current */*
// entry (later */* changes do not reach it), anything else from the defaults (§2.8).
func (p *stagePatcher) newEntry(key string) apigw.MethodSetting {
	if key != stageWildcardKey {
		if w, ok := p.st.MethodSettings[stageWildcardKey]; ok {
			return w
		}
	}
	return p.defaults
}

var stageSettingVerbs = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true, "OPTIONS": true, "ANY": true,
}

// stageSettingKey validates the resource segments and verb of a method-settings path and returns the
// map key: the resource path text verbatim ("test", "~1pets", or raw "a/b" as Terraform sends
// it) and the upper-cased verb. "*" as resource goes only with "*" as verb.
func stageSettingKey(res []string, verb string) (string, bool) {
	if len(res) == 0 {
		return "", false
	}
	for _, s := range res {
		if s == "" {
			return "", false
		}
	}
	star := len(res) == 1 && res[0] == "*"
	if verb == "*" {
		return stageWildcardKey, star
	}
	verb = strings.ToUpper(verb)
	if star || !stageSettingVerbs[verb] {
		return "", false
	}
	return strings.Join(res, "/") + "/" + verb, true
}

// methodSettingKey reads "/<resourcePath>/<METHOD>" (a whole entry, for remove).
func methodSettingKey(path string) (string, bool) {
	if !strings.HasPrefix(path, "/") {
		return "", false
	}
	segs := strings.Split(path[1:], "/")
	n := len(segs)
	if n < 2 {
		return "", false
	}
	return stageSettingKey(segs[:n-1], segs[n-1])
}

// parseMethodSettingPath reads a setting path from the right: the last two segments name the
// setting, the one before is the verb, the rest is the resource path.
func parseMethodSettingPath(path string) (key, setting string, ok bool) {
	if !strings.HasPrefix(path, "/") {
		return "", "", false
	}
	segs := strings.Split(path[1:], "/")
	n := len(segs)
	if n < 4 {
		return "", "", false
	}
	setting = segs[n-2] + "/" + segs[n-1]
	if _, known := stageSettingFields[setting]; !known {
		return "", "", false
	}
	key, ok = stageSettingKey(segs[:n-3], segs[n-3])
	return key, setting, ok
}

// stageSettingFields maps each setting path suffix to its MethodSetting field, for set and reset.
var stageSettingFields = map[string]func(*apigw.MethodSetting) any{
	"metrics/enabled":       func(m *apigw.MethodSetting) any { return &m.MetricsEnabled },
	"logging/dataTrace":     func(m *apigw.MethodSetting) any { return &m.DataTraceEnabled },
	"logging/loglevel":      func(m *apigw.MethodSetting) any { return &m.LoggingLevel },
	"throttling/burstLimit": func(m *apigw.MethodSetting) any { return &m.ThrottlingBurstLimit },
	"throttling/rateLimit":  func(m *apigw.MethodSetting) any { return &m.ThrottlingRateLimit },
	"caching/ttlInSeconds":  func(m *apigw.MethodSetting) any { return &m.CacheTTLInSeconds },
	"caching/enabled":       func(m *apigw.MethodSetting) any { return &m.CachingEnabled },
	"caching/dataEncrypted": func(m *apigw.MethodSetting) any { return &m.CacheDataEncrypted },
	"caching/requireAuthorizationForCacheControl": func(m *apigw.MethodSetting) any {
		return &m.RequireAuthorizationForCacheControl
	},
	"caching/unauthorizedCacheControlHeaderStrategy": func(m *apigw.MethodSetting) any {
		return &m.UnauthorizedCacheControlHeaderStrategy
	},
}

var (
	stageLogLevels    = []string{"OFF", "ERROR", "INFO"}
	cacheHeaderModes  = []string{"FAIL_WITH_403", "SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER"}
	stageSettingEnums = map[string][]string{
		"logging/loglevel": stageLogLevels,
		"caching/unauthorizedCacheControlHeaderStrategy": cacheHeaderModes,
	}
)

// setMethodSetting converts a patch value (always a string on the wire: "true", "123",
// "100.000000") to the setting's type. Negative throttles are kept: Terraform sends -1 for
// "unset", and the data plane treats a negative limit as no limit.
func setMethodSetting(m *apigw.MethodSetting, setting, v string) error {
	bad := func() error {
		return apigw.BadRequest("Invalid value specified for method setting %s: %s", setting, v)
	}
	switch f := stageSettingFields[setting](m).(type) {
	case *bool:
		*f = patch.ParseBool(v)
	case *int64:
		n, err := parseStageInt(v)
		if err != nil {
			return bad()
		}
		*f = n
	case *float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return bad()
		}
		*f = x
	case *string:
		allowed := stageSettingEnums[setting]
		for _, a := range allowed {
			if strings.EqualFold(a, v) {
				*f = a
				return nil
			}
		}
		return apigw.BadRequest("Invalid value specified for method setting %s: %s. Must be one of: [%s]", setting, v, strings.Join(allowed, ", "))
	}
	return nil
}

// parseStageInt reads an integer, also written as an integral decimal ("100.0").
func parseStageInt(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
		return 0, strconv.ErrSyntax
	}
	return int64(x), nil
}

// resetMethodSetting puts one setting of m back to its default (loglevel: unset).
func resetMethodSetting(m *apigw.MethodSetting, setting string, defaults apigw.MethodSetting) {
	switch f := stageSettingFields[setting](m).(type) {
	case *bool:
		*f = *stageSettingFields[setting](&defaults).(*bool)
	case *int64:
		*f = *stageSettingFields[setting](&defaults).(*int64)
	case *float64:
		*f = *stageSettingFields[setting](&defaults).(*float64)
	case *string:
		*f = *stageSettingFields[setting](&defaults).(*string)
	}
}
