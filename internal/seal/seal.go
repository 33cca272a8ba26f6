// Package seal encrypts API key values at rest. A Keyring holds the master keys (AES-256) read
// from the master key file: the first key seals, every key opens, so a rotation can re-encrypt
// rows one batch at a time while values sealed under the old key stay readable, and a rotation
// cut short by a crash can simply be run again.
//
// A sealed value is "tg1.<key id>.<base64url(nonce ‖ AES-GCM ciphertext)>". The key id (8 hex
// digits derived from the key) names which master key opened it without trying them all; the
// additional data binds the ciphertext to its row, so a sealed value copied onto another key's
// row does not open.
package seal

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a master key: AES-256.
const KeySize = 32

const prefix = "tg1."

// ErrOpen is returned for a sealed value that does not open: corrupt, moved to another row, or
// sealed under a master key the keyring does not hold.
var ErrOpen = errors.New("seal: value does not open under the master keys")

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring is a set of master keys; the first one seals. It is safe for concurrent use.
type Keyring struct {
	keys []key
}

// New returns a keyring of raw keys (each KeySize bytes); the first one seals.
func New(raw ...[]byte) (*Keyring, error) {
	if len(raw) == 0 {
		return nil, errors.New("seal: no master key")
	}
	kr := &Keyring{}
	seen := map[string]bool{}
	for _, r := range raw {
		if len(r) != KeySize {
			return nil, fmt.Errorf("seal: a master key is %d bytes, not %d", KeySize, len(r))
		}
		block, err := aes.NewCipher(r)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := keyID(r)
		if seen[id] {
			continue
		}
		seen[id] = true
		kr.keys = append(kr.keys, key{id: id, aead: aead})
	}
	return kr, nil
}

// keyID names a key by a hash of it (not the key itself, nor enough of a hash to help guess it).
func keyID(raw []byte) string {
	h := sha256.Sum256(append([]byte("tollgate master key id\x00"), raw...))
	return hex.EncodeToString(h[:4])
}

// NewKey returns a fresh random master key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic("seal: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return k
}

// ActiveID is the id of the key that seals.
func (kr *Keyring) ActiveID() string { return kr.keys[0].id }

// Seal encrypts plaintext for the row named by aad under the active key.
func (kr *Keyring) Seal(plaintext, aad string) string {
	k := kr.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("seal: no randomness: " + err.Error())
	}
	out := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(aad))
	return prefix + k.id + "." + base64.RawURLEncoding.EncodeToString(out)
}

// SealedWith returns the id of the key that sealed s, or "" if s is not a sealed value.
func SealedWith(s string) string {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	return id
}

// Open decrypts a value Seal returned for the same aad.
func (kr *Keyring) Open(sealed, aad string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrOpen
	}
	id, body, ok := strings.Cut(rest, ".")
	if !ok {
		return "", ErrOpen
	}
	for _, k := range kr.keys {
		if k.id != id {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(body)
		if err != nil || len(raw) < k.aead.NonceSize() {
			return "", ErrOpen
		}
		n := k.aead.NonceSize()
		plain, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(aad))
		if err != nil {
			return "", ErrOpen
		}
		return string(plain), nil
	}
	return "", fmt.Errorf("%w (sealed under key %s, which the master key file does not hold)", ErrOpen, id)
}

// Parse reads a master key file: one base64 key per line, the sealing key first; blank lines
// and lines starting with '#' are ignored.
func Parse(data []byte) (*Keyring, error) {
	raw, err := parseRaw(data)
	if err != nil {
		return nil, err
	}
	return New(raw...)
}

func parseRaw(data []byte) ([][]byte, error) {
	var raw [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(k) != KeySize {
			// The line is never quoted back: it is (most of) a secret.
			return nil, fmt.Errorf("master key file: line %d is not a base64-encoded %d-byte key", line, KeySize)
		}
		raw = append(raw, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("master key file holds no key")
	}
	return raw, nil
}

// Format is the master key file holding raw keys, the sealing key first.
func Format(raw ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("# Tollgate master key file: API key values in the store are encrypted under these keys.\n")
	b.WriteString("# The first key encrypts; every key decrypts. Keep this file private and back it up\n")
	b.WriteString("# apart from the database: without it the stored API key values cannot be read.\n")
	for _, r := range raw {
		b.WriteString(base64.StdEncoding.EncodeToString(r))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Rotation is a master key rotation in progress: Begin has written a new sealing key in front
// of the old ones, so the keyring opens values under either while they are re-sealed; Finish
// drops the old keys from the file once nothing is sealed under them.
type Rotation struct {
	path string
	new  []byte
	// Keyring seals under the new key and opens under the new and the old ones.
	Keyring *Keyring
}

// BeginRotation generates a new master key and writes it, ahead of the old keys, to the master
// key file at path.
func BeginRotation(path string) (*Rotation, error) {
	if _, err := Load(path); err != nil { // mode and content checks
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	old, err := parseRaw(data)
	if err != nil {
		return nil, err
	}
	k := NewKey()
	all := append([][]byte{k}, old...)
	if err := WriteFile(path, Format(all...), false); err != nil {
		return nil, err
	}
	kr, err := New(all...)
	if err != nil {
		return nil, err
	}
	return &Rotation{path: path, new: k, Keyring: kr}, nil
}

// Finish leaves only the new key in the master key file.
func (r *Rotation) Finish() error { return WriteFile(r.path, Format(r.new), false) }

// Load reads the master key file at path. A file others can read or write is refused: the
// keys in it unlock every API key value.
func Load(path string) (*Keyring, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s is mode %04o: it must not be readable by group or others (chmod 600)", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	return Parse(data)
}

// LoadOrCreate reads the master key file at path, or creates it (mode 0600) with a new key if it
// does not exist; created says which.
func LoadOrCreate(path string) (kr *Keyring, created bool, err error) {
	kr, err = Load(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return kr, false, err
	}
	k := NewKey()
	if err := WriteFile(path, Format(k), true); err != nil {
		if errors.Is(err, os.ErrExist) { // another process created it first
			kr, err = Load(path)
			return kr, false, err
		}
		return nil, false, err
	}
	kr, err = New(k)
	return kr, true, err
}

// WriteFile writes a master key file (mode 0600) durably: to a temporary file, synced, then
// renamed over path, so a crash leaves either the old file or the new one. With exclusive it
// fails with os.ErrExist if path exists.
func WriteFile(path string, data []byte, exclusive bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("master key file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("master key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("master key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	if exclusive {
		// link fails if path exists, where rename would replace it.
		if err := os.Link(tmp, path); err != nil {
			return fmt.Errorf("master key file: %w", err)
		}
	} else if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
