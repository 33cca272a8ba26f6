package apigw

import (
	"errors"
	"fmt"
)

// Kind classifies an error for its audience: awswire maps each Kind to an AWS error type and
// HTTP status (its table is the only place that knows those names).
type Kind int

// The error kinds. Each must have a row in awswire's error table (a test checks completeness).
const (
	KindInternal Kind = iota
	KindBadRequest
	KindNotFound
	KindConflict
	KindLimitExceeded
	KindTooManyRequests
	KindValidation
	KindSerialization
	KindUnauthorized
	KindServiceUnavailable
	KindUnsupportedMediaType
	// SigV4 failures (403).
	KindMissingAuthenticationToken
	KindIncompleteSignature
	KindUnrecognizedClient
	KindInvalidSignature
	KindExpiredToken
	// Data-plane gateway responses.
	KindForbidden
	// KindAccessDenied is an action the caller may not take (AccessDeniedException, 403), such
	// as passing a role of another account.
	KindAccessDenied
)

// AllKinds lists every Kind, so tables keyed by Kind can be checked for completeness.
var AllKinds = []Kind{
	KindInternal, KindBadRequest, KindNotFound, KindConflict, KindLimitExceeded, KindTooManyRequests,
	KindValidation, KindSerialization, KindUnauthorized, KindServiceUnavailable, KindUnsupportedMediaType,
	KindMissingAuthenticationToken, KindIncompleteSignature, KindUnrecognizedClient, KindInvalidSignature,
	KindExpiredToken, KindForbidden, KindAccessDenied,
}

// Error is an error with an audience: Message is what the API client reads (AWS's exact text),
// Cause is what the operator's log gets.
type Error struct {
	Kind    Kind
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an *Error of the given kind with a formatted client message.
func Errorf(k Kind, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Kind: k, Message: format}
	}
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// BadRequest, NotFound and Conflict are shorthands for the most common kinds.
func BadRequest(format string, args ...any) *Error { return Errorf(KindBadRequest, format, args...) }

// NotFound returns a KindNotFound error.
func NotFound(format string, args ...any) *Error { return Errorf(KindNotFound, format, args...) }

// Conflict returns a KindConflict error.
func Conflict(format string, args ...any) *Error { return Errorf(KindConflict, format, args...) }

// KindOf reports the Kind of err: the Kind of the first *Error in its chain, else KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Messages shared by several operations (spec §11). Keep AWS's exact texts here.
const (
	MsgInvalidUsagePlanID = "Invalid Usage Plan ID specified"
	MsgInvalidApiKeyID    = "Invalid API Key identifier specified"
	MsgInvalidKeyID       = "Invalid Key identifier specified"
	MsgInvalidResourceID  = "Invalid Resource identifier specified"
	MsgInvalidMethodID    = "Invalid Method identifier specified"
	MsgInvalidIntegration = "Invalid Integration identifier specified"
	MsgInvalidStatusCode  = "Invalid Response status code specified"
	MsgInvalidDeployment  = "Invalid Deployment identifier specified"
	MsgInvalidStage       = "Invalid stage identifier specified"
)

// InvalidAPI is the 404 for an unknown REST API id: "Invalid API identifier specified <account>:<id>".
func InvalidAPI(accountID, apiID string) *Error {
	return NotFound("Invalid API identifier specified %s:%s", accountID, apiID)
}
