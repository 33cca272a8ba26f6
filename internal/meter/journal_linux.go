package meter

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// journalSupported: the journal needs mmap and fallocate, here Linux's.
const journalSupported = true

// mapJournal maps every chunk of f, which must be a whole number of chunks and start with
// either version's magic: the slots of a version-2 file, the whole chunks of a version-1 one.
func mapJournal(f *os.File) (*journal, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 || st.Size()%chunkSize != 0 {
		return nil, fmt.Errorf("size %d is not a whole number of %d-byte chunks", st.Size(), chunkSize)
	}
	var m [len(magic)]byte
	if _, err := f.ReadAt(m[:], 0); err != nil {
		return nil, err
	}
	j := &journal{f: f}
	switch string(m[:]) {
	case magic:
	case magicV1:
		j.v1 = true
	default:
		return nil, errors.New("not a usage journal")
	}
	for off := int64(0); off < st.Size(); off += chunkSize {
		if err := j.mapChunk(off); err != nil {
			j.close()
			return nil, err
		}
	}
	j.head = (*header)(unsafe.Pointer(&j.chunks[0][0]))
	return j, nil
}

// grow adds a chunk to the file. The blocks are allocated now (fallocate), not on the first
// write to the page: a full disk must be an error here, not a SIGBUS in the data plane.
func (j *journal) grow() error {
	off := int64(len(j.chunks)) * chunkSize
	err := syscall.Fallocate(int(j.f.Fd()), 0, off, chunkSize)
	if errors.Is(err, syscall.EOPNOTSUPP) {
		err = j.f.Truncate(off + chunkSize) // a file system without fallocate: sparse, as best we can
	}
	if err != nil {
		return fmt.Errorf("meter: usage journal: grow: %w", err)
	}
	return j.mapChunk(off)
}

// mapChunk maps the chunk at off: its slots, or all of it in a version-1 file.
func (j *journal) mapChunk(off int64) error {
	size := slotsSize
	if j.v1 {
		size = chunkSize
	}
	b, err := syscall.Mmap(int(j.f.Fd()), off, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("meter: usage journal: mmap: %w", err)
	}
	j.chunks = append(j.chunks, b)
	return nil
}

// close unmaps the file: no slot of it may be used afterwards.
func (j *journal) close() error {
	var errs []error
	for _, b := range j.chunks {
		errs = append(errs, syscall.Munmap(b))
	}
	j.chunks, j.head = nil, nil
	errs = append(errs, j.f.Close())
	return errors.Join(errs...)
}
