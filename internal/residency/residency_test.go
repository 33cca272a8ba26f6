package residency

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestExecutableSegments(t *testing.T) {
	const smaps = `00400000-016dd000 r-xp 00000000 fe:00 9978030                            /opt/tollgate/bin/tollgate
Size:              19316 kB
Rss:               12788 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
016dd000-029bf000 r--p 012dd000 fe:00 9978030                            /opt/tollgate/bin/tollgate
Size:              19336 kB
Anonymous:             0 kB
029bf000-02adc000 r--p 025bf000 fe:00 9978030                            /opt/tollgate/bin/tollgate
Size:               1140 kB
Anonymous:           944 kB
02adc000-02b00000 rw-p 026dc000 fe:00 9978030                            /opt/tollgate/bin/tollgate
Anonymous:           100 kB
02b00000-04b66000 rw-p 00000000 00:00 0
Anonymous:          2000 kB
7f0000000000-7f0000001000 r--p 00000000 fe:00 1234                       /opt/tollgate/bin/tollgate.old
Anonymous:             0 kB
7f0000001000-7f0000002000 r-xp 00000000 fe:00 99                         /opt/my dir/tollgate (deleted)
Anonymous:             0 kB
7f0000002000-7f0000003000 r-xp 00000000 fe:00 99                         /opt/my dir/tollgate (deleted)
7ffd6c5f0000-7ffd6c611000 rw-p 00000000 00:00 0                          [stack]
`
	tests := []struct {
		exe  string
		want []segment
	}{
		{"/opt/tollgate/bin/tollgate", []segment{
			{0x400000, 0x16dd000, "r-xp", 0}, {0x16dd000, 0x29bf000, "r--p", 0},
			{0x29bf000, 0x2adc000, "r--p", 944}, // relocated read-only data of a PIE build
			{0x2adc000, 0x2b00000, "rw-p", 100},
		}},
		// a path with a space, of a binary replaced while it runs; its second mapping has no
		// Anonymous field
		{"/opt/my dir/tollgate (deleted)", []segment{{0x7f0000001000, 0x7f0000002000, "r-xp", 0}, {0x7f0000002000, 0x7f0000003000, "r-xp", -1}}},
		{"/usr/bin/other", nil},
	}
	for _, tc := range tests {
		got, err := executableSegments(strings.NewReader(smaps), tc.exe)
		if err != nil {
			t.Fatalf("%s: %v", tc.exe, err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: got %v, want %v", tc.exe, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: segment %d = %+v, want %+v", tc.exe, i, got[i], tc.want[i])
			}
		}
	}
	for _, bad := range []string{"zz-00 r-xp 0 fe:00 1 /x\n", "00-10 r-xp 0 fe:00 1 /x\nAnonymous: lots kB\n"} {
		if _, err := executableSegments(strings.NewReader(bad), "/x"); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestReleasable(t *testing.T) {
	for _, tc := range []struct {
		seg  segment
		want bool
	}{
		{segment{perms: "r-xp"}, true},
		{segment{perms: "r--p"}, true},
		{segment{perms: "r--p", anonKB: 4}, false},  // written since it was mapped (RELRO)
		{segment{perms: "r-xp", anonKB: -1}, false}, // not known
		{segment{perms: "rw-p"}, false},
		{segment{perms: "r-xs"}, false},
		{segment{perms: "---p"}, false},
		{segment{}, false},
	} {
		if got := tc.seg.releasable(); got != tc.want {
			t.Errorf("%+v: releasable %v, want %v", tc.seg, got, tc.want)
		}
	}
}

// TestReleaseInPIEBuild runs a position-independent build that releases its pages and then
// uses its relocated data (interfaces, maps, formatting). Releasing the relocated read-only
// data too made such a build crash at once (found by hand with tollgate itself).
func TestReleaseInPIEBuild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	bin := filepath.Join(t.TempDir(), "pie")
	build := exec.Command("go", "build", "-buildmode=pie", "-o", bin, "./testdata/pie")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("no PIE build here: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || !strings.HasSuffix(string(out), "ok\n") {
		t.Fatalf("the PIE build after Release: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// rssOfExecutable sums the Rss lines of the test binary's mappings in /proc/self/smaps (kB).
func rssOfExecutable(t *testing.T, exe string) int {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	total, in := 0, false
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		switch {
		case len(f) == 0:
		case strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"): // a mapping's first line
			in = len(f) >= 6 && strings.Join(f[5:], " ") == exe
		case in && len(f) == 3 && f[0] == "Rss:":
			n, _ := strconv.Atoi(f[1])
			total += n
		}
	}
	return total
}

// TestReleaseDropsPagesAndKeepsRunning releases the test binary's own read-only pages: its RSS
// in them falls, and the program goes on running (code and tables fault back in).
func TestReleaseDropsPagesAndKeepsRunning(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := rssOfExecutable(t, exe)
	n, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after := rssOfExecutable(t, exe)
	if n <= 0 || after >= before {
		t.Fatalf("released %d bytes of address space; the executable's RSS went %d → %d kB", n, before, after)
	}
	// Still running: code, type data and function tables come back on use.
	var sb strings.Builder
	for i := range 1000 {
		sb.WriteString(strconv.Itoa(i))
	}
	runtime.GC()
	if sb.Len() != 2890 {
		t.Fatalf("built %d bytes", sb.Len())
	}
	t.Logf("released %d MB of address space; the executable's RSS %d → %d kB", n>>20, before, after)
}

func FuzzExecutableSegments(f *testing.F) {
	f.Add([]byte("00400000-016dd000 r-xp 00000000 fe:00 9978030 /x\nAnonymous: 0 kB\n"), "/x")
	f.Add([]byte("ffff-0 r-xp 0 0 0 /x\n00-\n-\n"), "/x")
	f.Fuzz(func(t *testing.T, maps []byte, exe string) {
		segs, err := executableSegments(bytes.NewReader(maps), exe)
		if err != nil {
			return
		}
		for _, s := range segs {
			if s.end <= s.start {
				t.Fatalf("segment %+v is empty or reversed", s)
			}
		}
	})
}
