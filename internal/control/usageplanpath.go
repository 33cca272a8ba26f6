package control

import (
	"strings"

	"github.com/tollgate/tollgate/internal/apigw/patch"
)

// Method-throttle fields addressable by UpdateUsagePlan paths.
const (
	throttleFieldRate  = "rateLimit"
	throttleFieldBurst = "burstLimit"
)

// stageThrottlePath is a parsed /apiStages/<apiId>:<stage>/throttle[/<resourcePath>/<METHOD>[/<field>]].
type stageThrottlePath struct {
	ApiID string
	Stage string
	// Key is the canonical method key ("/pets/GET", "//GET" for the root, "*/*"); "" when the
	// path addresses the stage's whole throttle map.
	Key string
	// Field is throttleFieldRate, throttleFieldBurst, or "" (the whole entry).
	Field string
}

// parseStageThrottlePath parses a method-throttle patch path (spec §3.4). Clients write the
// resource path differently: Terraform sends it raw with its leading slash
// (/apiStages/abc:dev/throttle//test/GET/rateLimit), JSON-Pointer users escape it
// (…/throttle/~1test/GET/…), the CLI example uses "//GET" for the root and "*/*" as wildcard.
// All spell the same key. The rule: after "/throttle/", drop a trailing /rateLimit or
// /burstLimit (remembered as Field); the last segment is the method (upper-cased, "*" allowed);
// the rest is unescaped (~1 → /, ~0 → ~) and stripped of leading slashes; "*" stays the
// wildcard, anything else becomes the resource path "/" + rest (root when empty). ok is false
// for anything else, which callers report as an invalid patch path.
func parseStageThrottlePath(path string) (tp stageThrottlePath, ok bool) {
	rest, ok := strings.CutPrefix(path, "/apiStages/")
	if !ok {
		return tp, false
	}
	seg, rest, _ := strings.Cut(rest, "/")
	apiID, stage, ok := strings.Cut(seg, ":")
	if !ok || apiID == "" || stage == "" {
		return tp, false
	}
	tp.ApiID, tp.Stage = apiID, stage
	if rest == "throttle" {
		return tp, true
	}
	rem, ok := strings.CutPrefix(rest, "throttle/")
	if !ok {
		return stageThrottlePath{}, false
	}
	for _, f := range []string{throttleFieldRate, throttleFieldBurst} {
		if r, cut := strings.CutSuffix(rem, "/"+f); cut {
			rem, tp.Field = r, f
			break
		}
	}
	res, method := "", rem
	if i := strings.LastIndexByte(rem, '/'); i >= 0 {
		res, method = rem[:i], rem[i+1:]
	}
	key, ok := throttleMethodKey(strings.TrimLeft(patch.Unescape(res), "/"), method)
	if !ok {
		return stageThrottlePath{}, false
	}
	tp.Key = key
	return tp, true
}

// canonicalThrottleKey checks a method-throttle map key as given in CreateUsagePlan or in the
// JSON value of replace /apiStages/<a:s>/throttle: "<resourcePath>/<METHOD>" with the resource
// path starting with "/" ("//GET" is the root), or "*/<METHOD>". The method is upper-cased.
func canonicalThrottleKey(k string) (string, bool) {
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return "", false
	}
	res, method := k[:i], k[i+1:]
	if res != "*" {
		if !strings.HasPrefix(res, "/") || res == "/*" {
			return "", false
		}
		res = res[1:]
	}
	return throttleMethodKey(res, method)
}

// throttleMethodKey builds the canonical key from a resource path without its leading slash ("" for
// the root, "*" for the wildcard) and a method.
func throttleMethodKey(res, method string) (string, bool) {
	method = strings.ToUpper(method)
	if !validThrottleMethod(method) {
		return "", false
	}
	if res == "*" {
		return "*/" + method, true
	}
	if res != "" {
		for _, part := range strings.Split(res, "/") {
			if part == "" || strings.ContainsAny(part, "*\x00") {
				return "", false
			}
		}
	}
	return "/" + res + "/" + method, true
}

// validThrottleMethod accepts the HTTP methods a REST API resource can have, ANY, and "*".
func validThrottleMethod(m string) bool {
	switch m {
	case "GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY", "*":
		return true
	}
	return false
}
