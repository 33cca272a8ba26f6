package apigw

import "crypto/rand"

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
	// Rejection sampling over random bytes: values at or above the largest multiple of the
	// alphabet size are dropped, so every character is uniform; one read usually covers all.
	limit := byte(256 - 256%len(alphabet))
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("apigw: crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			if b < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}
