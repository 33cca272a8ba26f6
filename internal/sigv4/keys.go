package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
)

// maxCachedKeys bounds the signing-key cache. Keys are derived only for known access keys and for
// dates inside the clock window, but the region is client-chosen, so without a bound a client that
// knows an access key id (not its secret) could grow the cache without limit.
const maxCachedKeys = 1024

type keyID struct{ secret, date, region string }

// keyCache memoizes SigV4 signing keys per (secret, date, region): deriving one costs four HMACs,
// verifying a request with a cached key costs one.
type keyCache struct {
	mu   sync.RWMutex
	keys map[keyID][sha256.Size]byte
}

func (c *keyCache) get(secret, date, region, service string) [sha256.Size]byte {
	id := keyID{secret, date, region}
	c.mu.RLock()
	k, ok := c.keys[id]
	c.mu.RUnlock()
	if ok {
		return k
	}
	k = deriveKey(secret, date, region, service)
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = make(map[keyID][sha256.Size]byte)
	}
	c.keys[id] = k
	c.mu.Unlock()
	return k
}

// deriveKey is SigV4's kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveKey(secret, date, region, service string) [sha256.Size]byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	var out [sha256.Size]byte
	copy(out[:], k)
	return out
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
