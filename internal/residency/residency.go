// Package residency hands back to the kernel the pages of Tollgate's own executable that only
// start-up used.
//
// A Go binary is mapped from its file, and every page the process touches stays in its
// resident set until the process exits: at start-up the package initialisers, the store's
// migrations and the first snapshot build run through much of the 20 MB of code and, through
// the collector's and the stack copier's lookups, of the 15 MB of function tables, and the
// kernel maps 64 KB around each page it faults in. Serving then uses a small part of them.
// Measured with bench at 10,000 keys under load: 27 MB of the 61 MB RSS were the binary's
// pages. Dropping the process's mappings of the read-only segments once serving (madvise
// MADV_DONTNEED, which for a private file mapping only unmaps: the pages stay in the page
// cache, shared with every other process running the binary, and whatever the process touches
// again comes back with a minor fault and no I/O) leaves in RSS what serving touches. A mapping
// the process has written (a position-independent build's relocated read-only data) is kept:
// only the file's own bytes may be dropped.
package residency

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
)

// segment is one mapping of the executable: [start, end), its permissions (e.g. "r-xp") and
// the kilobytes of it that are private copies (smaps' Anonymous).
type segment struct {
	start, end uintptr
	perms      string
	anonKB     int64
}

// releasable reports whether a mapping may be dropped: private, not writable, and holding no
// page the process has written. A position-independent build's relocated read-only data
// (RELRO: written by the relocations at start-up, then made read-only) is such a written
// mapping: dropping it would put the file's unrelocated bytes back, and the program would
// crash.
func (s segment) releasable() bool {
	return len(s.perms) == 4 && s.perms[0] == 'r' && s.perms[1] == '-' && s.perms[3] == 'p' && s.anonKB == 0
}

// executableSegments parses /proc/self/smaps (r) for the mappings of the file exe.
func executableSegments(r io.Reader, exe string) ([]segment, error) {
	var segs []segment
	var cur *segment // the mapping whose fields follow, if it is exe's
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 {
			continue
		}
		if bytes.HasSuffix(f[0], []byte(":")) { // a field of the current mapping
			if cur != nil && string(f[0]) == "Anonymous:" && len(f) >= 2 {
				n, err := strconv.ParseInt(string(f[1]), 10, 64)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("residency: bad Anonymous field %q", sc.Bytes())
				}
				cur.anonKB = n
			}
			continue
		}
		// a mapping: address perms offset dev inode pathname
		cur = nil
		if len(f) < 6 || string(bytes.Join(f[5:], []byte(" "))) != exe {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			return nil, fmt.Errorf("residency: bad address range %q", f[0])
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("residency: bad address range %q", f[0])
		}
		// Unknown until its Anonymous field is read: a mapping without one is not released.
		segs = append(segs, segment{start: uintptr(start), end: uintptr(end), perms: string(f[1]), anonKB: -1})
		cur = &segs[len(segs)-1]
	}
	return segs, sc.Err()
}

// Release drops the process's mappings of its executable's read-only segments (code, read-only
// data, function tables) that it has not written, and returns how many bytes of address space it
// covered. Nothing changes for the program: a page it touches afterwards is mapped again from
// the page cache. Where this is not Linux, or smaps cannot be read, it does nothing and says
// why.
func Release() (int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	segs, err := executableSegments(f, exe)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, s := range segs {
		if !s.releasable() {
			continue
		}
		if err := dontNeed(s.start, s.end-s.start); err != nil {
			return n, fmt.Errorf("residency: madvise %x-%x: %w", s.start, s.end, err)
		}
		n += int64(s.end - s.start)
	}
	return n, nil
}
