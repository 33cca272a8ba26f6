package meter

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"
)

// The usage journal is a file of slots shared with the kernel (mmap, MAP_SHARED): the counters
// the data plane adds to are the file's own pages, so when the process dies, kill -9 included,
// the kernel still holds every count and writes it out. The next start reads the slots back
// and flushes them before serving (see Open). Nothing is fsynced: a machine crash can lose the
// pages, which is why the header records the boot it was written in and a file from an earlier
// boot is not trusted (it could say less, or more, than the store holds).
//
// Layout: chunks of chunkSlots slots, each mapped on its own so that growing the file never
// moves a slot a counter points at. Slot 0 of the file is the header.

const (
	chunkSlots = 8192
	chunkSize  = chunkSlots * slotSize // 1 MiB, a multiple of every page size
	magic      = "TGUSAGE1"
)

// header is slot 0: the file's identity and the flush protocol's epochs.
type header struct {
	magic [8]byte
	// pending is the epoch of the batch last sent to the store; committed the last one known to
	// have landed. pending > committed means a batch's outcome is unknown (see Meter.resolve).
	pending, committed atomic.Uint64
	id                 [16]byte // the journal's name in the store (usage_journals)
	boot               [40]byte // the kernel's boot id when the file was created
}

var _ [slotSize - unsafe.Sizeof(header{})]byte

// journal is an open usage journal file.
type journal struct {
	f      *os.File
	chunks [][]byte // each chunkSize bytes, mapped
	head   *header
	next   int // index of the next free slot
}

// name is the journal's key in the store.
func (j *journal) name() string { return hex.EncodeToString(j.head.id[:]) }

// slotAt returns slot i of the file.
func (j *journal) slotAt(i int) *slot {
	return (*slot)(unsafe.Pointer(&j.chunks[i/chunkSlots][(i%chunkSlots)*slotSize]))
}

// each calls fn for every slot in use (named; getID reads the name).
func (j *journal) each(fn func(*slot)) {
	for i := 1; i < len(j.chunks)*chunkSlots; i++ {
		if s := j.slotAt(i); s.named() {
			fn(s)
		}
	}
}

// alloc returns a fresh slot named id, growing the file by a chunk when it is full.
func (j *journal) alloc(id counterID) (*slot, error) {
	if j.next == len(j.chunks)*chunkSlots {
		if err := j.grow(); err != nil {
			return nil, err
		}
	}
	s := j.slotAt(j.next)
	if !s.setID(id) {
		return nil, errors.New("meter: counter name does not fit a journal slot")
	}
	j.next++
	return s, nil
}

// openJournal maps the journal at path, or reports fs.ErrNotExist. A file that is not a
// journal (wrong size or magic) is an error: the caller sets it aside.
func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	j, err := mapJournal(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("meter: usage journal %s: %w", path, err)
	}
	if !bytes.Equal(j.head.magic[:], []byte(magic)) {
		j.close()
		return nil, fmt.Errorf("meter: usage journal %s: not a usage journal", path)
	}
	// Slots are handed out in order: the first unused one is where allocation resumes.
	j.next = 1
	for j.next < len(j.chunks)*chunkSlots && j.slotAt(j.next).id[0] != 0 {
		j.next++
	}
	return j, nil
}

// createJournal writes a new, empty journal at path with a fresh name, replacing any file there
// only once the new one is complete.
func createJournal(path string) (*journal, error) {
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("meter: usage journal: %w", err)
	}
	j := &journal{f: f, next: 1}
	if err := j.grow(); err != nil {
		j.close()
		os.Remove(tmp)
		return nil, err
	}
	j.head = (*header)(unsafe.Pointer(&j.chunks[0][0]))
	copy(j.head.magic[:], magic)
	if _, err := rand.Read(j.head.id[:]); err != nil {
		j.close()
		os.Remove(tmp)
		return nil, err
	}
	copy(j.head.boot[:], bootID())
	if err := os.Rename(tmp, path); err != nil {
		j.close()
		os.Remove(tmp)
		return nil, fmt.Errorf("meter: usage journal: %w", err)
	}
	return j, nil
}

// sameBoot reports whether the file was written since the machine last booted: only then are
// its pages known to be the last ones the process wrote.
func (j *journal) sameBoot() bool {
	b := bootID()
	return b != "" && string(bytes.TrimRight(j.head.boot[:], "\x00")) == b
}

// bootID is the kernel's id of the current boot ("" where there is none).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(b))
}
