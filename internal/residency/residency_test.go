package residency

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestExecutableSegments(t *testing.T) {
	const maps = `00400000-016dd000 r-xp 00000000 fe:00 9978030                            /opt/tollgate/bin/tollgate
016dd000-029bf000 r--p 012dd000 fe:00 9978030                            /opt/tollgate/bin/tollgate
029bf000-02adc000 rw-p 025bf000 fe:00 9978030                            /opt/tollgate/bin/tollgate
02adc000-04b66000 rw-p 00000000 00:00 0
c000000000-c004000000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--p 00000000 fe:00 1234                       /opt/tollgate/bin/tollgate.old
7f0000001000-7f0000002000 r-xp 00000000 fe:00 99                         /opt/my dir/tollgate (deleted)
7ffd6c5f0000-7ffd6c611000 rw-p 00000000 00:00 0                          [stack]
`
	tests := []struct {
		exe  string
		want []segment
	}{
		{"/opt/tollgate/bin/tollgate", []segment{
			{0x400000, 0x16dd000, "r-xp"}, {0x16dd000, 0x29bf000, "r--p"}, {0x29bf000, 0x2adc000, "rw-p"},
		}},
		// a path with a space, of a binary replaced while it runs
		{"/opt/my dir/tollgate (deleted)", []segment{{0x7f0000001000, 0x7f0000002000, "r-xp"}}},
		{"/usr/bin/other", nil},
	}
	for _, tc := range tests {
		got, err := executableSegments(strings.NewReader(maps), tc.exe)
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
	if _, err := executableSegments(strings.NewReader("zz-00 r-xp 0 fe:00 1 /x\n"), "/x"); err == nil {
		t.Error("a bad address range was accepted")
	}
}

func TestReadOnly(t *testing.T) {
	for perms, want := range map[string]bool{"r-xp": true, "r--p": true, "rw-p": false, "r-xs": false, "---p": false, "": false} {
		if got := (segment{perms: perms}).readOnly(); got != want {
			t.Errorf("%q: readOnly %v, want %v", perms, got, want)
		}
	}
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
	f.Add([]byte("00400000-016dd000 r-xp 00000000 fe:00 9978030 /x\n"), "/x")
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
