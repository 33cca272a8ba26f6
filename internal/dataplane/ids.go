package dataplane

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
)

// Response headers API Gateway adds to every data-plane response (addendum §8.8).
const (
	RequestIDHeader = "X-Amzn-Requestid"
	ApigwIDHeader   = "X-Amz-Apigw-Id"
)

// AppendRequestID appends a version-4 UUID, the form of API Gateway's x-amzn-RequestId. The bits
// come from the runtime's per-thread generator: request ids need uniqueness, not secrecy, and
// this keeps them off the allocator and out of the kernel.
func AppendRequestID(dst []byte) []byte {
	var u [16]byte
	a, b := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		u[i], u[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return append(dst, s[:]...)
}

// AppendApigwID appends an x-amz-apigw-id: 16 characters ending in "=" like AWS's.
func AppendApigwID(dst []byte) []byte {
	var b [12]byte
	a, c := rand.Uint64(), rand.Uint32()
	for i := 0; i < 8; i++ {
		b[i] = byte(a >> (8 * i))
	}
	for i := 0; i < 4; i++ {
		b[8+i] = byte(c >> (8 * i))
	}
	var s [16]byte
	base64.StdEncoding.Encode(s[:], b[:])
	s[15] = '='
	return append(dst, s[:]...)
}
