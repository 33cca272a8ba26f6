package sigv4

import (
	"fmt"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// AWS's client-facing texts (rest-api-resources.md §9; the finer ones — algorithm, credential shape,
// date format, host, both forms — are the Coral texts other AWS JSON/REST services print, as recorded
// by emulators that captured them). The 403 status and x-amzn-ErrorType come from awswire's table.
const (
	msgMissingToken       = "Missing Authentication Token"
	msgUnrecognizedClient = "The security token included in the request is invalid."
	msgSignatureMismatch  = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHostNotSigned  = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgBothForms      = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
	msgAlgorithmEqual = "Authorization header must begin with the algorithm name, which cannot include an equal-sign"
	msgExpiresNumber  = "X-Amz-Expires should be a number"
	msgExpiresWeek    = "X-Amz-Expires must be less than a week (in seconds) that is 604800"

	// amzTimeFormat is ISO-8601 basic format, the only form X-Amz-Date may take and the form every
	// time in a message is printed in.
	amzTimeFormat = "20060102T150405Z"
	scopeDateFmt  = "20060102"
)

func errMissingToken() *apigw.Error {
	return &apigw.Error{Kind: apigw.KindMissingAuthenticationToken, Message: msgMissingToken}
}

func incomplete(msg string) *apigw.Error {
	return &apigw.Error{Kind: apigw.KindIncompleteSignature, Message: msg}
}

func invalid(msg string) *apigw.Error {
	return &apigw.Error{Kind: apigw.KindInvalidSignature, Message: msg}
}

// errMissingEqual is AWS's text for a component without '=' (the form API Gateway printed through
// 2024; it echoes the offending token and the whole header).
func errMissingEqual(token, header string) *apigw.Error {
	return incomplete(fmt.Sprintf("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.",
		token, header))
}

// errHeaderClauses lists, in AWS's order, only the failing clauses, then echoes the header.
func errHeaderClauses(noCredential, noSignature, noSignedHeaders, noDate bool, header string) *apigw.Error {
	var b strings.Builder
	if noCredential {
		b.WriteString("Authorization header requires 'Credential' parameter. ")
	}
	if noSignature {
		b.WriteString("Authorization header requires 'Signature' parameter. ")
	}
	if noSignedHeaders {
		b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
	}
	if noDate {
		b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	b.WriteString("Authorization=")
	b.WriteString(header)
	return incomplete(b.String())
}

// errQueryClauses is the presigned-URL counterpart of errHeaderClauses: one clause per missing
// (or empty) parameter, in AWS's order.
func errQueryClauses(missing []string) *apigw.Error {
	var b strings.Builder
	for _, p := range missing {
		b.WriteString("AWS query-string parameters must include '")
		b.WriteString(p)
		b.WriteString("'. ")
	}
	b.WriteString("Re-examine the query-string parameters.")
	return incomplete(b.String())
}

func errDateFormat(raw string) *apigw.Error {
	return incomplete(fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", raw))
}

func errAlgorithm(alg string) *apigw.Error {
	return incomplete(fmt.Sprintf("Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ", alg))
}

func errCredentialShape(credential string) *apigw.Error {
	return incomplete(fmt.Sprintf("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", credential))
}

// Credential-scope clauses: each ends with ". " and several are concatenated (AWS prints them
// all at once); the date clause, always last, ends with ".".
func clauseRegion(region string) string {
	return "Credential should be scoped to a valid region, not '" + region + "'. "
}

func clauseService(service string) string {
	return "Credential should be scoped to correct service: '" + service + "'. "
}

func clauseTerminator(term string) string {
	return "Credential should be scoped with a valid terminator: 'aws4_request', not '" + term + "'. "
}

func clauseScopeDate(scopeDate string, t time.Time) string {
	return fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
		scopeDate, t.UTC().Format(scopeDateFmt), t.UTC().Format(amzTimeFormat))
}

// errExpired: "Signature expired: <date> is now earlier than <now-skew> (<now> - 5 min.)".
func errExpired(date, now time.Time, skew time.Duration) *apigw.Error {
	return invalid(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
		fmtTime(date), fmtTime(now.Add(-skew)), fmtTime(now), fmtSkew(skew)))
}

// errNotYetCurrent: "Signature not yet current: <date> is still later than <now+skew> (<now> + 5 min.)".
func errNotYetCurrent(date, now time.Time, skew time.Duration) *apigw.Error {
	return invalid(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
		fmtTime(date), fmtTime(now.Add(skew)), fmtTime(now), fmtSkew(skew)))
}

// errPresignExpired has no AWS capture for a rest-json service (spec §9, A22). It keeps the shape of
// the header-form text — the middle time is the threshold, the parenthesis says how it was computed.
func errPresignExpired(date, now time.Time, expires time.Duration) *apigw.Error {
	return invalid(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d sec.)",
		fmtTime(date), fmtTime(now.Add(-expires)), fmtTime(now), int64(expires/time.Second)))
}

// errMismatch is the signature mismatch. The canonical request and string-to-sign go to the
// operator's log (Cause) always, and to the client only in debug mode, as AWS sometimes does.
func errMismatch(debug bool, canonical, stringToSign string) *apigw.Error {
	e := invalid(msgSignatureMismatch)
	if canonical == "" {
		return e
	}
	detail := "\n\nThe Canonical String for this request should have been\n'" + canonical +
		"'\n\nThe String-to-Sign should have been\n'" + stringToSign + "'\n"
	if debug {
		e.Message += detail // to the client, who signed these bytes itself
	}
	// Never into the log: the canonical request holds the values of every signed header (an
	// x-api-key, a session token).
	return e
}

func fmtTime(t time.Time) string { return t.UTC().Format(amzTimeFormat) }

// fmtSkew prints the window as AWS does ("5 min."); a window that is not whole minutes is printed
// in seconds so the message stays exact.
func fmtSkew(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", int64(d/time.Minute))
	}
	return fmt.Sprintf("%d sec.", int64(d/time.Second))
}

// ErrWrongRegion is the answer for a signature scoped to another region than the one the request
// is for (an execute-api signature must be scoped to the API's region).
func ErrWrongRegion(region string) *apigw.Error { return invalid(clauseRegion(region)) }
