package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// syscallGroups are the columns of the syscall table: the kernel tracepoints counted for each
// (those this kernel lacks are left out). "total" counts every system call, the rest is "other".
var syscallGroups = []struct {
	name  string
	calls []string
}{
	{"read", []string{"read", "readv", "recvfrom", "recvmsg"}},
	{"write", []string{"write", "writev", "sendto", "sendmsg"}},
	{"epoll", []string{"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl"}},
	{"futex", []string{"futex"}},
	{"sched", []string{"nanosleep", "sched_yield", "tgkill"}},
}

// syscallCounts is one system's system calls per request, by group.
type syscallCounts struct {
	total  float64
	groups []float64 // per syscallGroups entry
}

// tracepointDir is where the kernel lists its syscall tracepoints ("" if neither is mounted).
// A machine that has tracefs but has not mounted it (seen on these machines) gets it mounted
// once, when the bench runs as root, as it does to install its packages.
func tracepointDir() string {
	find := func() string {
		for _, d := range []string{"/sys/kernel/tracing/events/syscalls", "/sys/kernel/debug/tracing/events/syscalls"} {
			if _, err := os.Stat(d); err == nil {
				return d
			}
		}
		return ""
	}
	if d := find(); d != "" || os.Geteuid() != 0 {
		return d
	}
	_ = exec.Command("mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing").Run()
	return find()
}

// countSyscalls runs one load of d against s while `perf stat` counts the system calls of s's
// process tree (every thread of every process: nginx's master and workers), and returns them per
// request. perf's tracepoint counters cost the traced process little, unlike strace, so the load
// runs near its normal rate; the counts, not the rate, are the result.
func countSyscalls(ctx context.Context, ld loader, s *system, d time.Duration) (syscallCounts, error) {
	dir := tracepointDir()
	if dir == "" {
		return syscallCounts{}, fmt.Errorf("no syscall tracepoints (is tracefs mounted?)")
	}
	pids, err := descendants(s.proc.cmd.Process.Pid)
	if err != nil {
		return syscallCounts{}, err
	}
	events := []string{"raw_syscalls:sys_enter"}
	index := map[string]int{} // event -> group
	for g, grp := range syscallGroups {
		for _, c := range grp.calls {
			if _, err := os.Stat(dir + "/sys_enter_" + c); err == nil {
				ev := "syscalls:sys_enter_" + c
				events = append(events, ev)
				index[ev] = g
			}
		}
	}
	list := make([]string, len(pids))
	for i, p := range pids {
		list[i] = strconv.Itoa(p)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "perf", "stat", "-x", ",", "--no-big-num", "-e", strings.Join(events, ","), "-p", strings.Join(list, ","))
	cmd.Stderr = &out
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return syscallCounts{}, err
	}
	time.Sleep(300 * time.Millisecond) // perf attaches before the load starts
	l, lerr := ld.run(ctx, s, d)
	_ = cmd.Process.Signal(syscall.SIGINT)
	werr := cmd.Wait()
	if lerr != nil {
		return syscallCounts{}, lerr
	}
	res := syscallCounts{groups: make([]float64, len(syscallGroups))}
	if l.requests == 0 {
		return res, fmt.Errorf("%s: no requests while counting system calls", s.name)
	}
	seen := false
	for line := range strings.SplitSeq(out.String(), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		n, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue // "<not counted>" and comments
		}
		per := n / float64(l.requests)
		if f[2] == "raw_syscalls:sys_enter" {
			res.total, seen = per, true
		} else if g, ok := index[f[2]]; ok {
			res.groups[g] += per
		}
	}
	if !seen {
		return res, fmt.Errorf("%s: perf stat counted nothing (%v): %s", s.name, werr, tail(out.Bytes(), 500))
	}
	return res, nil
}

// reportSyscalls prints the syscall table in the bench's Markdown style.
func reportSyscalls(w io.Writer, d time.Duration, systems []*system, counts map[*system]syscallCounts) {
	fmt.Fprintf(w, "\nSystem calls per request of each system's processes (perf stat over one %s load; the load's own calls excluded):\n\n", d)
	fmt.Fprint(w, "| system | total |")
	for _, g := range syscallGroups {
		fmt.Fprintf(w, " %s |", g.name)
	}
	fmt.Fprint(w, " other |\n|---|---:|")
	for range syscallGroups {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprint(w, "---:|\n")
	for _, s := range systems {
		c, ok := counts[s]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "| %s | %.2f |", s.name, c.total)
		other := c.total
		for _, v := range c.groups {
			fmt.Fprintf(w, " %.2f |", v)
			other -= v
		}
		fmt.Fprintf(w, " %.2f |\n", max(0, other))
	}
}
