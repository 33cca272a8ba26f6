package awswire

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Double is a float64 that always serialises with a fractional part (10000 → 10000.0), as AWS
// does (spec §1.3); byte-level comparisons with AWS output depend on it.
type Double float64

// MarshalJSON implements json.Marshaler.
func (d Double) MarshalJSON() ([]byte, error) {
	f := float64(d)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return []byte("0.0"), nil
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendFloat(nil, f, 'f', 1, 64), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Double) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*d = Double(f)
	return nil
}

// Epoch is a timestamp serialised as integer epoch seconds (spec §1.3).
type Epoch int64

// EpochOf converts a time to Epoch.
func EpochOf(t time.Time) Epoch { return Epoch(t.Unix()) }

// Page token limits (spec §1.5).
const (
	DefaultLimit = 25
	MaxLimit     = 500
)

// ParseLimit reads the `limit` query value: absent or ≤ 0 → 25, > 500 → 500, not a number → 400.
func ParseLimit(s string) (int, error) {
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, apigw.BadRequest("Invalid limit specified: %s", s)
	}
	switch {
	case n <= 0:
		return DefaultLimit, nil
	case n > MaxLimit:
		return MaxLimit, nil
	}
	return int(n), nil
}

// EncodePosition turns a store cursor into the opaque `position` token clients echo back.
func EncodePosition(cursor string) string {
	if cursor == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + cursor))
}

// DecodePosition reverses EncodePosition; anything it did not produce is a 400.
func DecodePosition(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 4 || string(b[:3]) != "v1:" {
		return "", apigw.BadRequest("Invalid position specified: %s", token)
	}
	return string(b[3:]), nil
}
