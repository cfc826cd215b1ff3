package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// On a machine shared with other work, requests per second move with
// whatever else runs; the CPU a request costs does not (much). The load
// therefore also measures, per phase, the CPU time of this process (the
// clients and the handler under load) and of the PostgreSQL backends
// serving the target's pool, found by the pool's application_name (the
// server runs on this machine, so /proc has them).

// cpuMeter reads CPU times: the process's, and the backends' of one
// application_name through db.
type cpuMeter struct {
	db  *sql.DB
	app string // "" for a target without PostgreSQL
}

// cpuSample is the CPU used so far: by this process, and by each backend.
type cpuSample struct {
	self     time.Duration
	backends map[int]time.Duration
}

func (m *cpuMeter) sample(ctx context.Context) (cpuSample, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuSample{}, err
	}
	s := cpuSample{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), backends: map[int]time.Duration{}}
	if m == nil || m.app == "" {
		return s, nil
	}
	rows, err := m.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, m.app)
	if err != nil {
		return cpuSample{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return cpuSample{}, err
		}
		if t, err := procCPU(pid); err == nil { // a backend may have just gone
			s.backends[pid] = t
		}
	}
	return s, rows.Err()
}

// since returns the CPU this process and the backends used between
// before and s (a backend new since counts from zero).
func (s cpuSample) since(before cpuSample) (self, server time.Duration) {
	for pid, t := range s.backends {
		server += t - before.backends[pid]
	}
	return s.self - before.self, server
}

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on
// Linux).
const clockTick = 10 * time.Millisecond

// procCPU returns the user and system time of process pid.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command may hold spaces; the fields after it are plain.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// utime and stime are fields 14 and 15 of the line, 12 and 13 after
	// the command (state is the first).
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
}
