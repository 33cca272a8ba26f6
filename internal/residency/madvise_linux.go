package residency

import "golang.org/x/sys/unix"

// dontNeed unmaps [addr, addr+n) from the process (MADV_DONTNEED). The range is a private
// read-only file mapping: its pages stay in the page cache and fault back in on access.
func dontNeed(addr, n uintptr) error {
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, n, unix.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}
