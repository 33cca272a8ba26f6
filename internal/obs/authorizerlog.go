package obs

import "log/slog"

// AuthorizerLog logs the requests an authorizer failed (the 500 AuthorizerConfigurationException
// a caller gets when the function errs, answers something unusable or cannot be reached, or a
// user pool's keys cannot be fetched) at warn: which API, stage, method and authorizer, a fixed
// class of the cause and the request id. Never the token, the identity sources or the
// function's answer. Rate-limited like BackendLog.
type AuthorizerLog struct {
	log *slog.Logger
	lineBudget
}

// NewAuthorizerLog returns an AuthorizerLog allowing burst lines at once and rate a second after.
func NewAuthorizerLog(log *slog.Logger, rate, burst float64) *AuthorizerLog {
	return &AuthorizerLog{log: log, lineBudget: newLineBudget(rate, burst)}
}

// AuthorizerFailure is what AuthorizerLog logs of one failed authorization.
type AuthorizerFailure struct {
	RequestID, API, Stage, Method, Resource, Authorizer string
	Class                                               string // one of dataplane's AuthorizerFailure classes
}

// Log logs one failure (or counts it, over the rate).
func (l *AuthorizerLog) Log(f AuthorizerFailure) {
	ok, suppressed := l.take()
	if !ok {
		return
	}
	attrs := []any{"class", f.Class, "authorizer", f.Authorizer, "api", f.API, "stage", f.Stage,
		"method", f.Method, "resource", f.Resource, "request-id", f.RequestID}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	l.log.Warn("authorizer failed", attrs...)
}
