package dataplane

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// GatewayError is a gateway response: status, x-amzn-ErrorType and the exact body bytes
// (addendum §8.9: gateway-response bodies are compact, integration failures carry a space).
type GatewayError struct {
	Status int
	Type   string
	Body   []byte
	// ResponseType is API Gateway's gateway response type (THROTTLED, QUOTA_EXCEEDED, …), and
	// Message the body's message: the access log's $context.error.responseType and
	// $context.error.message.
	ResponseType string
	Message      string
	// NullMessage: the body's message is JSON null ($context.error.messageString renders null).
	NullMessage bool
}

func gw(status int, typ, responseType, body string) *GatewayError {
	var m struct{ Message string }
	_ = json.Unmarshal([]byte(body), &m)
	return &GatewayError{Status: status, Type: typ, Body: []byte(body), ResponseType: responseType, Message: m.Message}
}

// The gateway responses Tollgate emits (spec §7.2, §7.3; addendum §8.2, §8.9).
var (
	ErrMissingAuthToken = gw(http.StatusForbidden, "MissingAuthenticationTokenException", "MISSING_AUTHENTICATION_TOKEN", `{"message":"Missing Authentication Token"}`)
	ErrForbidden        = gw(http.StatusForbidden, "ForbiddenException", "INVALID_API_KEY", `{"message":"Forbidden"}`)
	// ErrStageForbidden answers a stage that is not deployed or cannot be invoked (the spec's
	// 403 Forbidden). No recording names its gateway response type; DEFAULT_4XX, the type of a
	// 4xx no other type covers, is Tollgate's choice, for the access log only: without a stage
	// there is no deployment whose customisations could apply.
	ErrStageForbidden     = gw(http.StatusForbidden, "ForbiddenException", "DEFAULT_4XX", `{"message":"Forbidden"}`)
	ErrTooManyRequests    = gw(http.StatusTooManyRequests, "TooManyRequestsException", "THROTTLED", `{"message":"Too Many Requests"}`)
	ErrLimitExceeded      = gw(http.StatusTooManyRequests, "LimitExceededException", "QUOTA_EXCEEDED", `{"message":"Limit Exceeded"}`)
	ErrUnsupportedMedia   = gw(http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", "UNSUPPORTED_MEDIA_TYPE", `{"message":"Unsupported Media Type"}`)
	ErrInternal           = gw(http.StatusInternalServerError, "InternalServerErrorException", "API_CONFIGURATION_ERROR", `{"message": "Internal server error"}`)
	ErrBadGateway         = gw(http.StatusBadGateway, "InternalServerErrorException", "INTEGRATION_FAILURE", `{"message": "Internal server error"}`)
	ErrTimeout            = gw(http.StatusGatewayTimeout, "InternalServerErrorException", "INTEGRATION_TIMEOUT", `{"message": "Endpoint request timed out"}`)
	ErrNetwork            = gw(http.StatusGatewayTimeout, "InternalServerErrorException", "INTEGRATION_FAILURE", `{"message": "Network error communicating with endpoint"}`)
	ErrTooLarge           = gw(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "REQUEST_TOO_LARGE", `{"message":"Request Too Long"}`)
	ErrServiceUnavailable = gw(http.StatusServiceUnavailable, "ServiceUnavailableException", "DEFAULT_5XX", `{"message":"Service Unavailable"}`)

	// Authorizer outcomes, as API Gateway answers them: no identity, a failed validation
	// expression or the function's "Unauthorized" error is 401; a policy that denies is 403
	// with a capitalised "Message"; a function that fails, answers something that is not an
	// authorizer answer, or cannot be reached is 500 AuthorizerConfigurationException with a
	// null message.
	ErrUnauthorized     = gw(http.StatusUnauthorized, "UnauthorizedException", "UNAUTHORIZED", `{"message":"Unauthorized"}`)
	ErrTokenExpired     = gw(http.StatusUnauthorized, "UnauthorizedException", "UNAUTHORIZED", `{"message":"The incoming token has expired"}`)
	ErrExplicitDeny     = gwMessage(http.StatusForbidden, "AccessDeniedException", "ACCESS_DENIED", "User is not authorized to access this resource with an explicit deny")
	ErrNotAuthorized    = gwMessage(http.StatusForbidden, "AccessDeniedException", "ACCESS_DENIED", "User is not authorized to access this resource")
	ErrAuthorizerConfig = &GatewayError{Status: http.StatusInternalServerError, Type: "AuthorizerConfigurationException", ResponseType: "AUTHORIZER_CONFIGURATION_ERROR", Body: []byte(`{"message":null}`), NullMessage: true}
)

// gwMessage is a gateway response whose body spells the member "Message", as API Gateway's
// authorizer denials do.
func gwMessage(status int, typ, responseType, message string) *GatewayError {
	b, _ := json.Marshal(struct{ Message string }{message})
	return &GatewayError{Status: status, Type: typ, Body: b, ResponseType: responseType, Message: message}
}

// notDeployed is the answer for an API id that has no deployed stage (LocalStack's text; on AWS
// the host would not resolve).
func notDeployed(apiID string) *GatewayError {
	return gw(http.StatusNotFound, "NotFoundException", "RESOURCE_NOT_FOUND", `{"message":"The API id '`+strconv.Quote(apiID)[1:len(strconv.Quote(apiID))-1]+`' does not correspond to a deployed API Gateway API"}`)
}

// write sends the gateway response.
func (e *GatewayError) write(w http.ResponseWriter) {
	if r, ok := w.(*recorder); ok {
		r.err = e
		if r.call != nil && r.call.Stage != nil && r.call.Stage.Responses != nil {
			h := w.Header()
			if cr, ok := r.call.CustomResponse(e, r.in, headerGet(h, RequestIDHeader), headerSink{h}); ok {
				h.Set("Content-Type", cr.ContentType)
				h.Set("X-Amzn-Errortype", e.Type)
				h.Set("Content-Length", strconv.Itoa(len(cr.Body)))
				w.WriteHeader(cr.Status)
				_, _ = io.WriteString(w, cr.Body)
				return
			}
		}
	}
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
	rt := "DEFAULT_4XX"
	switch {
	case status >= 500:
		rt = "DEFAULT_5XX"
	case typ == "InvalidSignatureException":
		rt = "INVALID_SIGNATURE"
	case typ == "MissingAuthenticationTokenException":
		rt = "MISSING_AUTHENTICATION_TOKEN"
	case status == http.StatusForbidden:
		rt = "ACCESS_DENIED"
	}
	return &GatewayError{Status: status, Type: typ, Body: b, ResponseType: rt, Message: message}
}
