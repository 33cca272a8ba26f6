package dataplane

import "strings"

// Resolve finds the REST API, stage and resource path a data-plane request addresses, from the
// invocation URL forms of spec §7.4:
//
//	Host: {apiId}.execute-api.{anything}            → /{stage}/{path}
//	/restapis/{apiId}/{stage}/_user_request_/{path} (LocalStack's legacy form)
//	/_aws/execute-api/{apiId}/{stage}/{path}        (LocalStack's path form)
//
// path is the escaped request path; rest keeps its leading "/" ("" for the bare stage).
// ok is false when the request is not for the data plane at all.
func Resolve(host, path string) (apiID, stage, rest string, ok bool) {
	if id, isAPI := apiFromHost(host); isAPI {
		stage, rest = cutSegment(path)
		return id, stage, rest, true
	}
	switch {
	case strings.HasPrefix(path, "/_aws/execute-api/"):
		apiID, tail := cutSegment(path[len("/_aws/execute-api"):])
		stage, rest = cutSegment(tail)
		return apiID, stage, rest, apiID != ""
	case strings.HasPrefix(path, "/restapis/"):
		apiID, tail := cutSegment(path[len("/restapis"):])
		stage, tail = cutSegment(tail)
		marker, rest := cutSegment(tail)
		if marker != "_user_request_" || apiID == "" {
			return "", "", "", false
		}
		return apiID, stage, rest, true
	}
	return "", "", "", false
}

// IsDataPlane reports whether a request is an invocation rather than a management call.
func IsDataPlane(host, path string) bool {
	_, _, _, ok := Resolve(host, path)
	return ok
}

// apiFromHost returns the API id of a "{apiId}.execute-api.…" host (port ignored).
func apiFromHost(host string) (string, bool) {
	id, tail, found := strings.Cut(host, ".")
	if !found || id == "" || !strings.HasPrefix(tail, "execute-api.") && tail != "execute-api" {
		return "", false
	}
	return id, true
}

// cutSegment splits "/a/b/c" into "a" and "/b/c".
func cutSegment(p string) (seg, rest string) {
	p = strings.TrimPrefix(p, "/")
	i := strings.IndexByte(p, '/')
	if i < 0 {
		return p, ""
	}
	return p[:i], p[i:]
}
