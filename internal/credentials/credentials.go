// Package credentials holds the access key pairs Tollgate accepts, each marked for the
// management API, for invoking AWS_IAM methods on the data plane, or both. Pairs come from the
// environment (one pair, both uses) and from an optional credentials file in the INI shape of
// ~/.aws/credentials, re-read on SIGHUP: a Source swaps its set atomically, so verifiers read it
// per request without a lock, and a bad file on reload keeps the old set.
package credentials

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
)

// Use says what a pair may sign.
type Use uint8

// The uses of a pair.
const (
	Management Use = 1 << iota // the management API (service apigateway)
	Invoke                     // AWS_IAM methods on the data plane (service execute-api)
)

// Set is an immutable set of pairs.
type Set struct {
	pairs map[string]pair // access key id →
}

type pair struct {
	secret string
	use    Use
}

// Lookup returns the secret of an access key id allowed for use.
func (s *Set) Lookup(accessKeyID string, use Use) (string, bool) {
	p, ok := s.pairs[accessKeyID]
	if !ok || p.use&use == 0 {
		return "", false
	}
	return p.secret, true
}

// Len is the number of pairs.
func (s *Set) Len() int { return len(s.pairs) }

// MaxFileSize bounds a credentials file: it holds a few pairs, not megabytes.
const MaxFileSize = 1 << 20

// Parse reads a credentials file:
//
//	# comments start with # or ;
//	[admin]
//	aws_access_key_id     = AKIDADMIN
//	aws_secret_access_key = …
//	tollgate_use          = management, invoke
//
// Every section needs all three keys; tollgate_use lists management, invoke or both. Access key
// ids are unique. Errors name the line, never a secret.
func Parse(r io.Reader) (*Set, error) {
	s := &Set{pairs: map[string]pair{}}
	type section struct {
		name, id, secret, use string
		line                  int
		hasUse                bool
	}
	var cur *section
	finish := func() error {
		if cur == nil {
			return nil
		}
		switch {
		case cur.id == "":
			return fmt.Errorf("section [%s] (line %d): aws_access_key_id is missing", cur.name, cur.line)
		case cur.secret == "":
			return fmt.Errorf("section [%s] (line %d): aws_secret_access_key is missing", cur.name, cur.line)
		case !cur.hasUse:
			return fmt.Errorf("section [%s] (line %d): tollgate_use is missing (management, invoke, or both)", cur.name, cur.line)
		}
		use, err := parseUse(cur.use)
		if err != nil {
			return fmt.Errorf("section [%s] (line %d): %v", cur.name, cur.line, err)
		}
		if _, dup := s.pairs[cur.id]; dup {
			return fmt.Errorf("section [%s] (line %d): access key id %q appears twice", cur.name, cur.line, cur.id)
		}
		s.pairs[cur.id] = pair{secret: cur.secret, use: use}
		return nil
	}
	sc := bufio.NewScanner(io.LimitReader(r, MaxFileSize))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("line %d: a section header is [name]", n)
			}
			if err := finish(); err != nil {
				return nil, err
			}
			cur = &section{name: strings.TrimSpace(line[1 : len(line)-1]), line: n}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want key = value", n)
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: a key before the first [section]", n)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "aws_access_key_id":
			cur.id = v
		case "aws_secret_access_key":
			cur.secret = v
		case "tollgate_use":
			cur.use, cur.hasUse = v, true
		default:
			return nil, fmt.Errorf("line %d: unknown key %q", n, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading credentials: %v", err)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return s, nil
}

func parseUse(v string) (Use, error) {
	var u Use
	for _, f := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(f)) {
		case "management":
			u |= Management
		case "invoke":
			u |= Invoke
		case "both":
			u |= Management | Invoke
		default:
			return 0, fmt.Errorf("tollgate_use %q: want management, invoke, or both", v)
		}
	}
	return u, nil
}

// Source is the live set: the environment's pair plus the file's, swapped on Reload.
type Source struct {
	path          string
	envID, envKey string
	cur           atomic.Pointer[Set]
}

// NewSource loads the pairs: envID/envSecret (both uses; "" for none) and the file at path ("" for
// none). An access key id in both is an error.
func NewSource(path, envID, envSecret string) (*Source, error) {
	s := &Source{path: path, envID: envID, envKey: envSecret}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the file. On error the current set stays in force.
func (s *Source) Reload() error {
	set := &Set{pairs: map[string]pair{}}
	if s.path != "" {
		f, err := os.Open(s.path)
		if err != nil {
			return fmt.Errorf("credentials file: %w", err)
		}
		defer f.Close()
		if set, err = Parse(f); err != nil {
			return fmt.Errorf("credentials file %s: %w", s.path, err)
		}
	}
	if s.envID != "" {
		if _, dup := set.pairs[s.envID]; dup {
			return fmt.Errorf("credentials file %s: access key id %q is also the environment's", s.path, s.envID)
		}
		set.pairs[s.envID] = pair{secret: s.envKey, use: Management | Invoke}
	}
	s.cur.Store(set)
	return nil
}

// Set returns the set in force.
func (s *Source) Set() *Set { return s.cur.Load() }

// Lookup returns the secret of an access key id allowed for use, in the set in force.
func (s *Source) Lookup(accessKeyID string, use Use) (string, bool) {
	return s.cur.Load().Lookup(accessKeyID, use)
}

// LooseMode reports whether the file can be read by others than its owner (mode & 077): its
// secrets should be 0600, like ~/.aws/credentials.
func LooseMode(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return fi.Mode().Perm()&0o077 != 0, nil
}
