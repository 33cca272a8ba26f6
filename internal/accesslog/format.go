// Package accesslog writes the data plane's access log: one line per request, in a stage's
// accessLogSettings.format (API Gateway's $context variables) or in a default JSON line.
//
// A format is compiled once per snapshot into literal runs and variable ids, so a request only
// appends bytes to a pooled buffer: no parsing, no reflection, no allocation. Lines go to a
// Writer that never blocks a request: when its queue is full the line is dropped and counted.
//
// Values are escaped as JSON string contents (quotes, backslashes, control characters), whatever
// the format: a client's User-Agent cannot end a JSON field or start a new log line. No API key
// value is ever logged: $context.identity.apiKey, which API Gateway would substitute, renders "-".
package accesslog

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Record is one request as the log sees it. Its strings may alias the request's buffers: they
// are read only while the line is appended.
type Record struct {
	RequestID         string
	ExtendedRequestID string
	SourceIP          netip.Addr
	UserAgent         string
	APIKeyID          string // the id of the key that was checked ("" when none)
	HTTPMethod        string
	ResourcePath      string // the matched resource's template, "" when none matched
	Path              string // the request path as received (StagePath: after the stage)
	// StagePath: Path is the part after the stage, which $context.path prefixes with "/stage".
	StagePath      bool
	Protocol       string
	Status         int
	ResponseLength int64 // -1: unknown (a streamed body)
	Start          time.Time
	// IntegrationLatency is how long the integration took (< 0: none ran).
	IntegrationLatency time.Duration
	// IntegrationStatus is the backend's status code (0: none).
	IntegrationStatus int
	ResponseLatency   time.Duration
	ErrorMessage      string // the gateway response's message ("" when the request succeeded)
	ErrorResponseType string // the gateway response type, e.g. THROTTLED ("" when none)
	Stage             string
	APIID             string
	DomainName        string
	AccountID         string
}

// variable is one $context variable Tollgate substitutes.
type variable uint8

const (
	varNone variable = iota // an unknown variable: "-"
	varRequestID
	varExtendedRequestID
	varSourceIP
	varUserAgent
	varAPIKeyID
	varAPIKey // never the value: "-"
	varHTTPMethod
	varResourcePath
	varPath
	varProtocol
	varStatus
	varResponseLength
	varRequestTime
	varRequestTimeEpoch
	varIntegrationLatency
	varIntegrationStatus
	varResponseLatency
	varErrorMessage
	varErrorMessageString
	varErrorResponseType
	varStage
	varAPIID
	varDomainName
	varDomainPrefix
	varAccountID
	varResourceID // not tracked: "-"
)

// variables maps the names after "$context." to what they substitute. The set follows API
// Gateway's documented $context variables for access logging; the ones Tollgate has no value
// for (authorizer, WAF, caller identity of IAM users…) render "-", as API Gateway renders an
// absent value.
var variables = map[string]variable{
	"requestId":                     varRequestID,
	"extendedRequestId":             varExtendedRequestID,
	"identity.sourceIp":             varSourceIP,
	"identity.userAgent":            varUserAgent,
	"identity.apiKeyId":             varAPIKeyID,
	"identity.apiKey":               varAPIKey,
	"httpMethod":                    varHTTPMethod,
	"resourcePath":                  varResourcePath,
	"path":                          varPath,
	"protocol":                      varProtocol,
	"status":                        varStatus,
	"responseLength":                varResponseLength,
	"requestTime":                   varRequestTime,
	"requestTimeEpoch":              varRequestTimeEpoch,
	"integrationLatency":            varIntegrationLatency,
	"integration.latency":           varIntegrationLatency,
	"integrationStatus":             varIntegrationStatus,
	"integration.status":            varIntegrationStatus,
	"integration.integrationStatus": varIntegrationStatus,
	"responseLatency":               varResponseLatency,
	"error.message":                 varErrorMessage,
	"error.messageString":           varErrorMessageString,
	"error.responseType":            varErrorResponseType,
	"stage":                         varStage,
	"apiId":                         varAPIID,
	"domainName":                    varDomainName,
	"domainPrefix":                  varDomainPrefix,
	"accountId":                     varAccountID,
	"resourceId":                    varResourceID,
}

// Format is a compiled access-log format.
type Format struct {
	parts []part
}

type part struct {
	lit string
	v   variable // varNone with lit == "": an unknown variable
	isV bool
}

// Compile compiles an accessLogSettings.format. Every "$context.<name>" is a variable ("-" when
// Tollgate has no value for it); anything else is copied. It never fails: API Gateway accepts
// any text, and so does the log.
func Compile(format string) *Format {
	f := &Format{}
	lit := strings.Builder{}
	for i := 0; i < len(format); {
		if strings.HasPrefix(format[i:], "$context.") {
			j := i + len("$context.")
			for j < len(format) && isNameByte(format[j]) {
				j++
			}
			name := strings.TrimRight(format[i+len("$context."):j], ".")
			j = i + len("$context.") + len(name)
			if name != "" {
				if lit.Len() > 0 {
					f.parts = append(f.parts, part{lit: lit.String()})
					lit.Reset()
				}
				f.parts = append(f.parts, part{v: variables[name], isV: true})
				i = j
				continue
			}
		}
		lit.WriteByte(format[i])
		i++
	}
	if lit.Len() > 0 {
		f.parts = append(f.parts, part{lit: lit.String()})
	}
	return f
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_'
}

// Default is the line of a stage without a format: API Gateway's JSON example plus what an
// operator of usage plans needs (the key's id, never its value; the latencies; the gateway
// response type).
var Default = Compile(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",` +
	`"resourcePath":"$context.resourcePath","path":"$context.path","status":"$context.status",` +
	`"protocol":"$context.protocol","responseLength":"$context.responseLength",` +
	`"apiId":"$context.apiId","stage":"$context.stage","apiKeyId":"$context.identity.apiKeyId",` +
	`"userAgent":"$context.identity.userAgent","integrationLatency":"$context.integrationLatency",` +
	`"responseLatency":"$context.responseLatency","errorType":"$context.error.responseType"}`)

// Append appends r's line in format f (no newline) to b.
func (f *Format) Append(b []byte, r *Record) []byte {
	for i := range f.parts {
		p := &f.parts[i]
		if !p.isV {
			b = append(b, p.lit...)
			continue
		}
		b = appendVar(b, p.v, r)
	}
	return b
}

const clfTime = "02/Jan/2006:15:04:05 -0700"

func appendVar(b []byte, v variable, r *Record) []byte {
	switch v {
	case varRequestID:
		return appendStr(b, r.RequestID)
	case varExtendedRequestID:
		return appendStr(b, r.ExtendedRequestID)
	case varSourceIP:
		if !r.SourceIP.IsValid() {
			return append(b, '-')
		}
		return r.SourceIP.Unmap().AppendTo(b)
	case varUserAgent:
		return appendStr(b, r.UserAgent)
	case varAPIKeyID:
		return appendStr(b, r.APIKeyID)
	case varHTTPMethod:
		return appendStr(b, r.HTTPMethod)
	case varResourcePath:
		return appendStr(b, r.ResourcePath)
	case varPath:
		if r.StagePath {
			b = append(b, '/')
			b = appendEscaped(b, r.Stage)
			if r.Path != "" && r.Path[0] != '/' {
				b = append(b, '/')
			}
			return appendEscaped(b, r.Path)
		}
		return appendStr(b, r.Path)
	case varProtocol:
		return appendStr(b, r.Protocol)
	case varStatus:
		return strconv.AppendInt(b, int64(r.Status), 10)
	case varResponseLength:
		if r.ResponseLength < 0 {
			return append(b, '-')
		}
		return strconv.AppendInt(b, r.ResponseLength, 10)
	case varRequestTime:
		if r.Start.IsZero() {
			return append(b, '-')
		}
		return r.Start.UTC().AppendFormat(b, clfTime)
	case varRequestTimeEpoch:
		return strconv.AppendInt(b, r.Start.UnixMilli(), 10)
	case varIntegrationLatency:
		if r.IntegrationLatency < 0 {
			return append(b, '-')
		}
		return strconv.AppendInt(b, r.IntegrationLatency.Milliseconds(), 10)
	case varIntegrationStatus:
		if r.IntegrationStatus == 0 {
			return append(b, '-')
		}
		return strconv.AppendInt(b, int64(r.IntegrationStatus), 10)
	case varResponseLatency:
		return strconv.AppendInt(b, r.ResponseLatency.Milliseconds(), 10)
	case varErrorMessage:
		return appendStr(b, r.ErrorMessage)
	case varErrorMessageString:
		if r.ErrorMessage == "" {
			return append(b, '-')
		}
		// The message as a JSON string literal, quotes included (API Gateway's definition), for
		// formats that write "error":$context.error.messageString.
		b = append(b, '"')
		b = appendEscaped(b, r.ErrorMessage)
		return append(b, '"')
	case varErrorResponseType:
		return appendStr(b, r.ErrorResponseType)
	case varStage:
		return appendStr(b, r.Stage)
	case varAPIID:
		return appendStr(b, r.APIID)
	case varDomainName:
		return appendStr(b, r.DomainName)
	case varDomainPrefix:
		d := r.DomainName
		if i := strings.IndexByte(d, '.'); i >= 0 {
			d = d[:i]
		}
		return appendStr(b, d)
	case varAccountID:
		return appendStr(b, r.AccountID)
	}
	return append(b, '-')
}

// appendStr appends s escaped, or "-" when it is empty.
func appendStr(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

const hex = "0123456789abcdef"

// appendEscaped appends s as the contents of a JSON string: quotes, backslashes and control
// characters escaped (so no value can end a field or a line), invalid UTF-8 kept as is.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}
