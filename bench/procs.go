package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one process the benchmark started. It runs in its own process group so that stopping it
// also stops whatever it forked (nginx's workers), and it gets SIGTERM if the benchmark itself dies
// (Pdeathsig), so an interrupted run leaves nothing behind.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

// procSet is every process started, stopped in reverse order by stopAll.
type procSet struct {
	mu   sync.Mutex
	list []*proc
}

// start runs bin with args, stdout and stderr going to dir/name.log.
func (ps *procSet) start(dir, name, bin string, args []string, env []string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

// stopAll sends SIGTERM to each process group (newest first), waits up to 15 s for each (Tollgate
// flushes usage and returns quota leases on SIGTERM), then SIGKILLs the group.
func (ps *procSet) stopAll() {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		p := list[i]
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			fmt.Fprintf(os.Stderr, "bench: %s did not stop on SIGTERM; killing\n", p.name)
		}
		// The group may hold children that outlived the leader; SIGKILL is harmless if it is empty.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
}

// running reports whether p has not exited.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// logTail returns the last n bytes of p's log, for error messages.
func (p *proc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// waitListening polls addr until it accepts a TCP connection, p exits, or timeout passes.
func waitListening(p *proc, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !p.running() {
			return fmt.Errorf("%s exited before listening on %s: %v\n%s", p.name, addr, p.waitErr, p.logTail(2000))
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not listen on %s within %s\n%s", p.name, addr, timeout, p.logTail(2000))
}

// freeAddr returns a loopback address with a port that was free a moment ago. Processes that
// cannot listen on :0 and report back (nginx) need a port chosen for them.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// clockTick is USER_HZ, the unit of utime/stime in /proc/<pid>/stat; it is 100 on every Linux
// architecture Go supports (the kernel fixes the user-visible value independently of CONFIG_HZ).
const clockTick = 100

// usage is a sample of a process tree's resources.
type usage struct {
	ticks int64 // utime+stime, 1/clockTick s
	rssKB int64 // sum of VmRSS (shared pages of nginx's workers are counted in each)
	pids  int
}

// treeUsage samples root and all its descendants: nginx's master and every worker, or a single Go
// process.
func treeUsage(root int) (usage, error) {
	var u usage
	pids, err := descendants(root)
	if err != nil {
		return u, err
	}
	for _, pid := range pids {
		st, err := readStat(pid)
		if err != nil {
			continue // exited between the listing and the read
		}
		u.ticks += st.utime + st.stime
		u.rssKB += readRSS(pid)
		u.pids++
	}
	if u.pids == 0 {
		return u, fmt.Errorf("process %d is gone", root)
	}
	return u, nil
}

type stat struct {
	ppid         int
	utime, stime int64
}

// readStat parses /proc/<pid>/stat; the command name may contain spaces and parentheses, so the
// fields are taken after the last ')'.
func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return stat{}, errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return stat{}, errors.New("short stat")
	}
	var st stat
	st.ppid, _ = strconv.Atoi(f[1])
	st.utime, _ = strconv.ParseInt(f[11], 10, 64)
	st.stime, _ = strconv.ParseInt(f[12], 10, 64)
	return st, nil
}

func readRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// descendants lists root and every process below it, from the ppid of each /proc entry.
func descendants(root int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// cpuTimes is the machine's busy time from /proc/stat, to estimate how much CPU processes outside
// the benchmark took during a round (the machine may be shared).
type cpuTimes struct{ busy, total int64 }

func readCPUTimes() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var t cpuTimes
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest and guest_nice are already inside user and nice
			break
		}
		t.total += n
		// user nice system (process time); idle, iowait, irq, softirq and steal are not.
		if i <= 2 {
			t.busy += n
		}
	}
	return t
}
