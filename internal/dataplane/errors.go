package dataplane

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// GatewayError is a gateway response: status, x-amzn-ErrorType and the exact body bytes
// (addendum §8.9: gateway-response bodies are compact, integration failures carry a space).
type GatewayError struct {
	Status int
	Type   string
	Body   []byte
}

func gw(status int, typ, body string) *GatewayError {
	return &GatewayError{Status: status, Type: typ, Body: []byte(body)}
}

// The gateway responses Tollgate emits (spec §7.2, §7.3; addendum §8.2, §8.9).
var (
	ErrMissingAuthToken   = gw(http.StatusForbidden, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`)
	ErrForbidden          = gw(http.StatusForbidden, "ForbiddenException", `{"message":"Forbidden"}`)
	ErrTooManyRequests    = gw(http.StatusTooManyRequests, "TooManyRequestsException", `{"message":"Too Many Requests"}`)
	ErrLimitExceeded      = gw(http.StatusTooManyRequests, "LimitExceededException", `{"message":"Limit Exceeded"}`)
	ErrUnsupportedMedia   = gw(http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", `{"message":"Unsupported Media Type"}`)
	ErrInternal           = gw(http.StatusInternalServerError, "InternalServerErrorException", `{"message": "Internal server error"}`)
	ErrBadGateway         = gw(http.StatusBadGateway, "InternalServerErrorException", `{"message": "Internal server error"}`)
	ErrTimeout            = gw(http.StatusGatewayTimeout, "InternalServerErrorException", `{"message": "Endpoint request timed out"}`)
	ErrNetwork            = gw(http.StatusGatewayTimeout, "InternalServerErrorException", `{"message": "Network error communicating with endpoint"}`)
	ErrTooLarge           = gw(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", `{"message":"Request Too Long"}`)
	ErrServiceUnavailable = gw(http.StatusServiceUnavailable, "ServiceUnavailableException", `{"message":"Service Unavailable"}`)
)

// notDeployed is the answer for an API id that has no deployed stage (LocalStack's text; on AWS
// the host would not resolve).
func notDeployed(apiID string) *GatewayError {
	return gw(http.StatusNotFound, "NotFoundException", `{"message":"The API id '`+strconv.Quote(apiID)[1:len(strconv.Quote(apiID))-1]+`' does not correspond to a deployed API Gateway API"}`)
}

// write sends the gateway response.
func (e *GatewayError) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Errortype", e.Type)
	h.Set("Content-Length", strconv.Itoa(len(e.Body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.Body)
}

// NewGatewayError returns a gateway response with a {"message": …} body, for answers composed
// outside this package (an IAM verifier's SigV4 errors).
func NewGatewayError(status int, typ, message string) *GatewayError {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	return &GatewayError{Status: status, Type: typ, Body: b}
}
