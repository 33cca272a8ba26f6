// Package keyimport reads ImportApiKeys' CSV files (spec §3.12) and owns the field rules every API
// key must satisfy, so that CreateApiKey, UpdateApiKey and the import reject exactly the same names,
// values and descriptions with exactly the same texts (spec §3.13, §11). It is a pure parser: it
// never touches the store; package control decides what the rows do.
package keyimport

import "github.com/tollgate/tollgate/internal/apigw"

// Limits on API key fields (spec §3.13, §13 A9/A15).
const (
	MaxNameLen        = 1024
	MinValueLen       = 20
	MaxValueLen       = 128
	MaxDescriptionLen = 125000
)

// AWS's texts for the field rules (spec §11).
const (
	MsgNameTooLong       = "Invalid API Key name, can be at most 1024 characters."
	MsgValueTooShort     = "API Key value should be at least 20 characters"
	MsgValueTooLong      = "API Key value exceeds maximum size of 128 characters"
	MsgValueInvalidChars = "API Key value contains invalid characters" // [R]: AWS text unknown
	MsgDescription       = "Invalid API Key description specified."
)

// CheckName returns the 400 for a name longer than 1024 characters (counted as runes, like
// AWS's Java strings count characters rather than bytes).
func CheckName(name string) error {
	if msg := nameProblem(name); msg != "" {
		return &apigw.Error{Kind: apigw.KindBadRequest, Message: msg}
	}
	return nil
}

// CheckValue returns the 400 for a key value outside 20–128 characters or with a character that is
// not printable non-space ASCII (spec §13 A15). An empty value is the caller's business
// (CreateApiKey generates one).
func CheckValue(value string) error {
	if msg := valueProblem(value); msg != "" {
		return &apigw.Error{Kind: apigw.KindBadRequest, Message: msg}
	}
	return nil
}

// CheckDescription returns the 400 for a description longer than 125,000 characters.
func CheckDescription(d string) error {
	if msg := descriptionProblem(d); msg != "" {
		return &apigw.Error{Kind: apigw.KindBadRequest, Message: msg}
	}
	return nil
}

func nameProblem(name string) string {
	if len(name) > MaxNameLen && runeCountExceeds(name, MaxNameLen) {
		return MsgNameTooLong
	}
	return ""
}

func descriptionProblem(d string) string {
	if len(d) > MaxDescriptionLen && runeCountExceeds(d, MaxDescriptionLen) {
		return MsgDescription
	}
	return ""
}

// valueProblem checks lengths first (AWS's order: the length texts are the ones clients see), then
// the character set. Values are ASCII, so bytes are characters.
func valueProblem(v string) string {
	switch {
	case len(v) < MinValueLen:
		return MsgValueTooShort
	case len(v) > MaxValueLen:
		return MsgValueTooLong
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return MsgValueInvalidChars
		}
	}
	return ""
}

// runeCountExceeds reports whether s has more than n runes, stopping early.
func runeCountExceeds(s string, n int) bool {
	c := 0
	for range s {
		c++
		if c > n {
			return true
		}
	}
	return false
}
