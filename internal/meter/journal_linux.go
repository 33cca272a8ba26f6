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

// mapJournal maps every chunk of f, which must be a whole number of chunks.
func mapJournal(f *os.File) (*journal, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 || st.Size()%chunkSize != 0 {
		return nil, fmt.Errorf("size %d is not a whole number of %d-byte chunks", st.Size(), chunkSize)
	}
	j := &journal{f: f}
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

func (j *journal) mapChunk(off int64) error {
	b, err := syscall.Mmap(int(j.f.Fd()), off, chunkSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
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
