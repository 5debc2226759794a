package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStat is what the backend needs from /proc/<pid>/stat.
type procStat struct {
	state     byte
	pgrp      int
	sid       int
	starttime uint64 // clock ticks after boot; with pid, names a process uniquely
}

var errNoProcess = errors.New("no such process")

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) {
		return procStat{}, errNoProcess
	}
	if err != nil {
		return procStat{}, fmt.Errorf("read process %d: %w", pid, err)
	}
	return parseProcStat(b)
}

// parseProcStat parses a stat line. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from its last ')'.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("malformed /proc stat %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("malformed /proc stat %q", b)
	}
	pgrp, err1 := strconv.Atoi(f[5-3])
	sid, err2 := strconv.Atoi(f[6-3])
	start, err3 := strconv.ParseUint(f[22-3], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("malformed /proc stat: %w", err)
	}
	return procStat{state: f[0][0], pgrp: pgrp, sid: sid, starttime: start}, nil
}

// ref is the parsed Instance.Ref: "<shim pid>:<starttime>".
type ref struct {
	pid       int
	starttime uint64
}

func (r ref) String() string { return fmt.Sprintf("%d:%d", r.pid, r.starttime) }

func parseRef(s string) (ref, error) {
	p, st, ok := strings.Cut(s, ":")
	pid, err1 := strconv.Atoi(p)
	start, err2 := strconv.ParseUint(st, 10, 64)
	if !ok || err1 != nil || err2 != nil || pid <= 1 {
		return ref{}, fmt.Errorf("malformed process instance ref %q", s)
	}
	return ref{pid: pid, starttime: start}, nil
}

// alive reports whether r's process still runs: the pid exists, is the same
// process (not a later one that reused the pid) and is not a zombie.
func alive(r ref) (procStat, bool, error) {
	st, err := readProcStat(r.pid)
	if errors.Is(err, errNoProcess) {
		return procStat{}, false, nil
	}
	if err != nil {
		return procStat{}, false, err
	}
	if st.starttime != r.starttime || st.state == 'Z' || st.state == 'X' {
		return st, false, nil
	}
	return st, true, nil
}

// signalSession sends sig to every live process in session sid except the
// process except, and returns how many it signalled. Every process an
// instance starts stays in the shim's session unless it calls setsid itself,
// so this reaches grandchildren that moved to other process groups too.
//
// Callers must know that sid is still the shim's session (the shim was alive
// a moment ago): once all its members are gone the number may be reused.
func signalSession(sid, except int, sig syscall.Signal) int {
	des, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, de := range des {
		pid, err := strconv.Atoi(de.Name())
		if err != nil || pid == except {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.sid != sid || st.state == 'Z' {
			continue
		}
		if syscall.Kill(pid, sig) == nil {
			n++
		}
	}
	return n
}
