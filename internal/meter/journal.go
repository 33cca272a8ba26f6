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
// Layout (version 2, magic TGUSAGE2): chunks of 1 MiB, each its own mapping so that growing the
// file never moves a slot a counter points at. A chunk's first half holds chunkSlots slots of
// 64 bytes, mapped; its second half the slots' name records, 64 bytes each at the same index,
// written once with pwrite before the slot is marked named and never mapped, so that names
// take no memory while serving (a restart reads the ones it needs). The header takes the first
// two slots of the file.
//
// Version 1 (TGUSAGE1) had 128-byte slots with the name in the slot, every chunk mapped whole.
// Open still recovers such a file, and then starts a version-2 one.

const (
	chunkSlots = 8192
	chunkSize  = chunkSlots * (slotSize + nameSize) // 1 MiB, a multiple of every page size
	slotsSize  = chunkSlots * slotSize              // the mapped half
	magic      = "TGUSAGE2"
	// firstSlot is the first counter slot: the header takes the slots before it.
	firstSlot = headerSize / slotSize

	magicV1    = "TGUSAGE1"
	slotSizeV1 = 128
)

// header is at the start of the file: its identity and the flush protocol's epochs.
type header struct {
	magic [8]byte
	// pending is the epoch of the batch last sent to the store; committed the last one known to
	// have landed. pending > committed means a batch's outcome is unknown (see Meter.resolve).
	pending, committed atomic.Uint64
	id                 [16]byte // the journal's name in the store (usage_journals)
	boot               [40]byte // the kernel's boot id when the file was created
}

const headerSize = 128

var _ [headerSize - unsafe.Sizeof(header{})]byte

// journal is an open usage journal file.
type journal struct {
	f      *os.File
	chunks [][]byte // each the mapped slots of a chunk (a whole chunk in version 1)
	head   *header
	next   int  // index of the next free slot
	v1     bool // a version-1 file: recovered from, never allocated in
}

// name is the journal's key in the store.
func (j *journal) name() string { return hex.EncodeToString(j.head.id[:]) }

// slotAt returns slot i of the file. In a version-1 file that is its first 48 bytes, which
// hold the two days as a version-2 slot does; nothing else of it is read through the pointer.
func (j *journal) slotAt(i int) *slot {
	return (*slot)(unsafe.Pointer(&j.chunks[i/chunkSlots][(i%chunkSlots)*j.slotBytes()]))
}

// slotBytes is the size of the file's slots.
func (j *journal) slotBytes() int {
	if j.v1 {
		return slotSizeV1
	}
	return slotSize
}

// slots is the number of slots the file holds.
func (j *journal) slots() int { return len(j.chunks) * chunkSlots }

// first is the index of the first counter slot.
func (j *journal) first() int {
	if j.v1 {
		return 1
	}
	return firstSlot
}

// inUse reports whether slot i is in use (has a name).
func (j *journal) inUse(i int) bool {
	if j.v1 {
		_, ok := decodeID(j.nameV1(i))
		return ok
	}
	return j.slotAt(i).named.Load() != 0
}

// nameV1 returns the name bytes of slot i of a version-1 file.
func (j *journal) nameV1(i int) []byte {
	off := (i % chunkSlots) * slotSizeV1
	return j.chunks[i/chunkSlots][off+48 : off+slotSizeV1]
}

// nameOffset is where slot i's name record is in a version-2 file.
func nameOffset(i int) int64 {
	return int64(i/chunkSlots)*chunkSize + slotsSize + int64(i%chunkSlots)*nameSize
}

// getID reads the name of slot i: false when it holds none Tollgate could have written.
func (j *journal) getID(i int) (counterID, bool) {
	if j.v1 {
		return decodeID(j.nameV1(i))
	}
	var b [nameSize]byte
	if _, err := j.f.ReadAt(b[:], nameOffset(i)); err != nil {
		return counterID{}, false
	}
	return decodeID(b[:])
}

// each calls fn for every slot in use.
func (j *journal) each(fn func(i int, s *slot)) {
	for i := j.first(); i < j.slots(); i++ {
		if j.inUse(i) {
			fn(i, j.slotAt(i))
		}
	}
}

// alloc returns the index of a fresh slot named id, growing the file by a chunk when it is
// full. The name record is written first: a slot marked named always has its name.
func (j *journal) alloc(id counterID) (int, error) {
	if j.v1 {
		return 0, errors.New("meter: the usage journal is of an older format, kept until its counts reach the store")
	}
	var b [nameSize]byte
	if !encodeID(b[:], id) {
		return 0, errors.New("meter: counter name does not fit a journal name record")
	}
	if j.next == j.slots() {
		if err := j.grow(); err != nil {
			return 0, err
		}
	}
	if _, err := j.f.WriteAt(b[:], nameOffset(j.next)); err != nil {
		return 0, fmt.Errorf("meter: usage journal: %w", err)
	}
	at := j.next
	j.slotAt(at).named.Store(1)
	j.next++
	return at, nil
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
	// Slots are handed out in order: the first unused one is where allocation resumes.
	j.next = j.first()
	for j.next < j.slots() && j.inUse(j.next) {
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
	j := &journal{f: f, next: firstSlot}
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
