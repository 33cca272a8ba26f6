// Package awswire is API Gateway's REST-JSON wire format: response shapes and their member
// presence rules, pagination tokens, request ids and THE error table. It is the only package that
// knows AWS's error type names and status codes.
package awswire

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tollgate/tollgate/internal/apigw"
)

// ErrorType is one row of the error table.
type ErrorType struct {
	Code   string // x-amzn-ErrorType
	Status int
}

// errorTable maps every apigw.Kind to its AWS error type and status (spec §1.4, addendum §9).
var errorTable = map[apigw.Kind]ErrorType{
	apigw.KindInternal:                   {"InternalServerErrorException", http.StatusInternalServerError},
	apigw.KindBadRequest:                 {"BadRequestException", http.StatusBadRequest},
	apigw.KindNotFound:                   {"NotFoundException", http.StatusNotFound},
	apigw.KindConflict:                   {"ConflictException", http.StatusConflict},
	apigw.KindLimitExceeded:              {"LimitExceededException", http.StatusTooManyRequests},
	apigw.KindTooManyRequests:            {"TooManyRequestsException", http.StatusTooManyRequests},
	apigw.KindValidation:                 {"ValidationException", http.StatusBadRequest},
	apigw.KindSerialization:              {"SerializationException", http.StatusBadRequest},
	apigw.KindUnauthorized:               {"UnauthorizedException", http.StatusUnauthorized},
	apigw.KindServiceUnavailable:         {"ServiceUnavailableException", http.StatusServiceUnavailable},
	apigw.KindUnsupportedMediaType:       {"UnsupportedMediaTypeException", http.StatusUnsupportedMediaType},
	apigw.KindMissingAuthenticationToken: {"MissingAuthenticationTokenException", http.StatusForbidden},
	apigw.KindIncompleteSignature:        {"IncompleteSignatureException", http.StatusForbidden},
	apigw.KindUnrecognizedClient:         {"UnrecognizedClientException", http.StatusForbidden},
	apigw.KindInvalidSignature:           {"InvalidSignatureException", http.StatusForbidden},
	apigw.KindExpiredToken:               {"ExpiredTokenException", http.StatusForbidden},
	apigw.KindForbidden:                  {"ForbiddenException", http.StatusForbidden},
	apigw.KindAccessDenied:               {"AccessDeniedException", http.StatusForbidden},
}

// TypeOf returns the error type row of a kind.
func TypeOf(k apigw.Kind) ErrorType {
	if t, ok := errorTable[k]; ok {
		return t
	}
	return errorTable[apigw.KindInternal]
}

// WriteError writes err as an AWS error response: x-amzn-ErrorType, the status of its kind and
// {"message": …}. Errors that are not *apigw.Error are internal: the client gets a generic text
// and the cause goes to the log.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *apigw.Error
	if !errors.As(err, &e) {
		slog.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &apigw.Error{Kind: apigw.KindInternal, Message: "Internal server error"}
	} else if e.Cause != nil {
		slog.Debug("request failed", "path", r.URL.Path, "err", err)
	}
	t := TypeOf(e.Kind)
	h := w.Header()
	h.Set("X-Amzn-Errortype", t.Code)
	h.Set("Content-Type", "application/json")
	body, _ := Marshal(struct {
		Message string `json:"message"`
	}{e.Message})
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(t.Status)
	_, _ = w.Write(body)
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := Marshal(v)
	if err != nil {
		slog.Error("encoding response", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Marshal encodes v as AWS does: compact, and without Go's HTML escaping, so that texts such as
// "<apidId:stageName>" and mapping templates keep their "<", ">" and "&" bytes.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// WriteEmpty writes a response with no body (202 on deletes, 204 on method-level deletes).
func WriteEmpty(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}
