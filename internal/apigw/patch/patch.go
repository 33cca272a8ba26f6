// Package patch decodes API Gateway's patchOperations and holds the error texts every resource's
// patch table shares (spec §4). Each resource applies the operations itself, on a copy, through
// its own path table in package control.
package patch

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Op is one patch operation. Value is always a JSON string on the wire, even for numbers and
// booleans; HasValue tells an absent value from "".
type Op struct {
	Op       string  `json:"op"`
	Path     string  `json:"path"`
	Value    *string `json:"value,omitempty"`
	From     string  `json:"from,omitempty"`
	HasValue bool    `json:"-"`
}

// V returns the value, "" when absent.
func (o Op) V() string {
	if o.Value == nil {
		return ""
	}
	return *o.Value
}

// Request is the body of every Update* operation.
type Request struct {
	PatchOperations []Op `json:"patchOperations"`
}

// validOps is the enum of the model's Op type, in the order AWS prints it.
var validOps = []string{"add", "remove", "move", "test", "replace", "copy"}

// Validate checks every op against the enum and returns AWS's ValidationException listing each
// bad one, 1-based: "1 validation error detected: Value 'x' at 'updateApiKeyInput.patchOperations.1.member.op' …".
// input is the operation's input name, e.g. "updateUsagePlanInput".
func Validate(ops []Op, input string) error {
	var bad []string
	for i := range ops {
		ops[i].HasValue = ops[i].Value != nil
		if !isValidOp(ops[i].Op) {
			bad = append(bad, fmt.Sprintf("Value '%s' at '%s.patchOperations.%d.member.op' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
				ops[i].Op, input, i+1, strings.Join(validOps, ", ")))
		}
	}
	return ValidationErrors(bad)
}

// ValidationErrors joins constraint violations into AWS's ValidationException text
// ("N validation error(s) detected: a; b"); nil when there are none.
func ValidationErrors(bad []string) error {
	switch len(bad) {
	case 0:
		return nil
	case 1:
		return apigw.Errorf(apigw.KindValidation, "1 validation error detected: %s", bad[0])
	}
	return apigw.Errorf(apigw.KindValidation, "%d validation errors detected: %s", len(bad), strings.Join(bad, "; "))
}

func isValidOp(op string) bool {
	for _, v := range validOps {
		if op == v {
			return true
		}
	}
	return false
}

// Decode parses an Update* body ({} or empty → no operations) and validates the op enum.
func Decode(body []byte, input string) ([]Op, error) {
	var req Request
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, &apigw.Error{Kind: apigw.KindSerialization, Message: "Unexpected content in the request body: not valid JSON", Cause: err}
		}
	}
	return req.PatchOperations, Validate(req.PatchOperations, input)
}

// InvalidPath is the BadRequest used by API keys, usage plans and usage (two spaces after "path"):
// "Invalid patch path  '<path>' specified for op '<op>'. Must be one of: [<allowed>]".
func InvalidPath(path, op string, allowed []string) error {
	return apigw.BadRequest("Invalid patch path  '%s' specified for op '%s'. Must be one of: [%s]", path, op, strings.Join(allowed, ", "))
}

// UnsupportedOp is the REST-API family text: "Invalid patch path  '<path>' specified for op '<op>'. Please choose supported operations".
func UnsupportedOp(path, op string) error {
	return apigw.BadRequest("Invalid patch path  '%s' specified for op '%s'. Please choose supported operations", path, op)
}

// BadPath is "Invalid patch path <path>" (single space, no quotes), used by REST API resources.
func BadPath(path string) error { return apigw.BadRequest("Invalid patch path %s", path) }

// OnlyOps is "Invalid patch operation specified. Must be one of: [<ops>]".
func OnlyOps(ops ...string) error {
	return apigw.BadRequest("Invalid patch operation specified. Must be one of: [%s]", strings.Join(ops, ", "))
}

// Unescape decodes a JSON-Pointer segment: "~1" → "/", "~0" → "~".
func Unescape(seg string) string {
	if !strings.Contains(seg, "~") {
		return seg
	}
	return strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
}

// ParseBool reads a patch boolean the way AWS does: "true" (any case) is true, anything else false.
func ParseBool(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }
