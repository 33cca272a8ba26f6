package apigw

import (
	"crypto/rand"
	"math/big"
)

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// Identifier lengths, as AWS generates them (spec §1.6, addendum §1.2).
const (
	ApiKeyIDLen       = 10
	UsagePlanIDLen    = 6
	RestApiIDLen      = 10
	RootResourceIDLen = 10
	ResourceIDLen     = 6
	DeploymentIDLen   = 6
	ApiKeyValueLen    = 40
)

// NewID returns n random characters from [a-z0-9], drawn from a CSPRNG: ids are unguessable and
// unique across regions (callers retry on the rare collision the store reports).
func NewID(n int) string { return randomString(n, lowerAlnum) }

// NewApiKeyValue returns a generated API key value: 40 characters of [A-Za-z0-9].
func NewApiKeyValue() string { return randomString(ApiKeyValueLen, alnum) }

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("apigw: crypto/rand failed: " + err.Error())
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}
