package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// The load mode (-load): the same concurrent clients and the same routes
// over loopback HTTP, one route at a time, against each target in turn:
// a hand-written floor handler on PostgreSQL (loadfloor.go), the
// library's httpapi handler on store/postgres and the same handler on the
// memory store. Each phase warms up, then counts requests and times them
// for a fixed duration; the report has requests/s, p50, p99 and errors per
// route and target, and the library's throughput against the floor's.

type loadConfig struct {
	clients  int           // concurrent clients
	warmup   time.Duration // unmeasured, per phase
	duration time.Duration // measured, per phase
	pool     int           // PostgreSQL connections of each target
	memUsers int           // users of the memory store's big tenant (0: no memory target)
	routes   []loadRoute   // the routes measured (nil: loadRoutes)
}

// selectRoutes returns the routes of loadRoutes whose name matches
// pattern ("" matches all).
func selectRoutes(pattern string) ([]loadRoute, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	var out []loadRoute
	for _, r := range loadRoutes {
		if re.MatchString(r.name) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no load route matches %q", pattern)
	}
	return out, nil
}

// loadData is what one target's clients act with: session tokens made in
// the target's store (the floor reads the same sessions table as the
// library on PostgreSQL) and the users the routes name.
type loadData struct {
	meTokens    []string    // sessions of many users of the big tenant and of others
	readTokens  []string    // sessions of the big tenant's admin, one a client
	heavyID     uuid.UUID   // the big tenant's user with the most events
	writeTokens []string    // sessions of the load tenant's admins, one a client
	toggleIDs   []uuid.UUID // a user of the load tenant a client, whose role it toggles
	invitePfx   string      // makes invited emails unique to the run and target
}

// loadTarget is a server under load.
type loadTarget struct {
	name    string
	handler http.Handler
	data    *loadData
	cpu     *cpuMeter // nil: the process's CPU only
}

// loadRoute is one measured route: req says what client c sends in its
// i-th request.
type loadRoute struct {
	name string
	req  func(d *loadData, c, i int) (method, path, token string, body []byte)
}

var loadRoutes = []loadRoute{
	{"`GET /me`", func(d *loadData, c, i int) (string, string, string, []byte) {
		return "GET", "/me", d.meTokens[(c*7919+i*104729)%len(d.meTokens)], nil
	}},
	{"`GET /users?limit=50`", func(d *loadData, c, _ int) (string, string, string, []byte) {
		return "GET", "/users?limit=50", d.readTokens[c%len(d.readTokens)], nil
	}},
	{"`GET /users?q=" + rareTerm + "&limit=50` (rare term)", func(d *loadData, c, _ int) (string, string, string, []byte) {
		return "GET", "/users?limit=50&q=" + rareTerm, d.readTokens[c%len(d.readTokens)], nil
	}},
	{"`GET /users/{id}/activity?limit=50` (heavy user)", func(d *loadData, c, _ int) (string, string, string, []byte) {
		return "GET", "/users/" + d.heavyID.String() + "/activity?limit=50", d.readTokens[c%len(d.readTokens)], nil
	}},
	{"`PUT`/`DELETE /users/{id}/roles/supervisor`", func(d *loadData, c, i int) (string, string, string, []byte) {
		method := "PUT"
		if i%2 == 1 {
			method = "DELETE"
		}
		return method, "/users/" + d.toggleIDs[c%len(d.toggleIDs)].String() + "/roles/supervisor", d.writeTokens[c%len(d.writeTokens)], nil
	}},
	{"`POST /users/invitations`", func(d *loadData, c, i int) (string, string, string, []byte) {
		body := fmt.Sprintf(`{"email":"%s-%d-%d@load.example","roles":["agent"]}`, d.invitePfx, c, i)
		return "POST", "/users/invitations", d.writeTokens[c%len(d.writeTokens)], []byte(body)
	}},
}

// loadStats is one phase: a route against a target.
type loadStats struct {
	requests, errors int
	p50, p99         time.Duration
	perSecond        float64
	firstError       string
	// CPU per request in the measured window: of this process (clients
	// and handler) and of the target's PostgreSQL backends.
	selfCPU, serverCPU time.Duration
}

// cpuPerRequest is the CPU a request cost, this process's and the
// server's together.
func (st loadStats) cpuPerRequest() time.Duration { return st.selfCPU + st.serverCPU }

// runLoad serves each target on loopback and runs every route of
// cfg.routes against each in turn. results[route][target] follows the
// order of cfg.routes and targets.
func runLoad(ctx context.Context, targets []loadTarget, cfg loadConfig, logf func(string, ...any)) ([][]loadStats, error) {
	servers := make([]*httptest.Server, len(targets))
	for i, t := range targets {
		servers[i] = httptest.NewServer(t.handler)
		defer servers[i].Close()
	}
	if cfg.routes == nil {
		cfg.routes = loadRoutes
	}
	results := make([][]loadStats, len(cfg.routes))
	for r, route := range cfg.routes {
		results[r] = make([]loadStats, len(targets))
		for t, target := range targets {
			st, err := loadPhase(ctx, servers[t].URL, target, route, cfg)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", route.name, target.name, err)
			}
			logf("load: %-55s %-22s %8.0f req/s  p50 %-9s p99 %-9s CPU/request %4.0f + %4.0f µs  errors %d %s", route.name, target.name,
				st.perSecond, fmtDur(st.p50), fmtDur(st.p99), micros(st.selfCPU), micros(st.serverCPU), st.errors, st.firstError)
			results[r][t] = st
		}
	}
	return results, nil
}

// loadPhase runs cfg.clients clients against one route of one server for
// the warm-up and then the measured duration; only requests started in the
// measured window count.
func loadPhase(ctx context.Context, url string, target loadTarget, route loadRoute, cfg loadConfig) (loadStats, error) {
	d := target.data
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: cfg.clients, MaxIdleConnsPerHost: cfg.clients}}
	defer client.CloseIdleConnections()
	from := time.Now().Add(cfg.warmup)
	until := from.Add(cfg.duration)
	type cpuWindow struct {
		self, server time.Duration
		err          error
	}
	cpu := make(chan cpuWindow, 1)
	go func() {
		time.Sleep(time.Until(from))
		before, err := target.cpu.sample(ctx)
		if err != nil {
			cpu <- cpuWindow{err: err}
			return
		}
		time.Sleep(time.Until(until))
		after, err := target.cpu.sample(ctx)
		self, server := after.since(before)
		cpu <- cpuWindow{self, server, err}
	}()
	times := make([][]time.Duration, cfg.clients)
	errs := make([]int, cfg.clients)
	firstErr := make([]string, cfg.clients)
	var wg sync.WaitGroup
	for c := range cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				start := time.Now()
				if !start.Before(until) || ctx.Err() != nil {
					return
				}
				method, path, token, body := route.req(d, c, i)
				req, err := http.NewRequestWithContext(ctx, method, url+path, bytes.NewReader(body))
				if err != nil {
					errs[c]++
					continue
				}
				req.Header.Set("Authorization", "Bearer "+token)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				problem := ""
				resp, err := client.Do(req)
				if err != nil {
					problem = err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						problem = fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
					}
				}
				if start.Before(from) {
					continue
				}
				times[c] = append(times[c], time.Since(start))
				if problem != "" {
					errs[c]++
					if firstErr[c] == "" {
						firstErr[c] = problem
					}
				}
			}
		}()
	}
	wg.Wait()
	w := <-cpu
	if w.err != nil {
		return loadStats{}, fmt.Errorf("measuring CPU: %w", w.err)
	}
	var all []time.Duration
	var st loadStats
	for c := range cfg.clients {
		all = append(all, times[c]...)
		st.errors += errs[c]
		if st.firstError == "" {
			st.firstError = firstErr[c]
		}
	}
	if len(all) == 0 {
		return st, fmt.Errorf("no request was measured")
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	st.requests = len(all)
	st.perSecond = float64(len(all)) / cfg.duration.Seconds()
	st.p50, st.p99 = all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]
	st.selfCPU, st.serverCPU = w.self/time.Duration(len(all)), w.server/time.Duration(len(all))
	return st, nil
}

// renderLoad writes the markdown table: per route, each target's
// requests/s and p50 / p99, and each library target's throughput against
// the first target (the floor) when there is one.
func renderLoad(header string, routes []loadRoute, targets []loadTarget, results [][]loadStats, floor bool) string {
	var sb strings.Builder
	sb.WriteString(header)
	sb.WriteString("\n| route |")
	for i, t := range targets {
		fmt.Fprintf(&sb, " %s req/s | p50 / p99 | CPU µs a request (app + PostgreSQL) |", t.name)
		if floor && i > 0 {
			sb.WriteString(" ÷ floor | CPU ÷ floor |")
		}
	}
	sb.WriteString(" errors |\n|---|")
	for i := range targets {
		sb.WriteString("---|---|---|")
		if floor && i > 0 {
			sb.WriteString("---|---|")
		}
	}
	sb.WriteString("---|\n")
	var problems []string
	for r, route := range routes {
		fmt.Fprintf(&sb, "| %s |", route.name)
		var errs []string
		for t := range targets {
			st := results[r][t]
			fmt.Fprintf(&sb, " %.0f | %s / %s | %.0f + %.0f |", st.perSecond, fmtDur(st.p50), fmtDur(st.p99),
				micros(st.selfCPU), micros(st.serverCPU))
			if floor && t > 0 {
				fmt.Fprintf(&sb, " %s | %s |", ratio(st.perSecond, results[r][0].perSecond),
					cpuRatio(st.cpuPerRequest(), results[r][0].cpuPerRequest()))
			}
			errs = append(errs, fmt.Sprint(st.errors))
			if st.firstError != "" {
				problems = append(problems, fmt.Sprintf("- %s, %s: %d errors, first: %s", route.name, targets[t].name, st.errors, st.firstError))
			}
		}
		fmt.Fprintf(&sb, " %s |\n", strings.Join(errs, " / "))
	}
	if len(problems) > 0 {
		sb.WriteString("\nErrors:\n" + strings.Join(problems, "\n") + "\n")
	}
	return sb.String()
}

// ratio says how the library's throughput compares with the floor's.
func ratio(lib, floor float64) string {
	switch {
	case lib == 0 || floor == 0:
		return "—"
	case lib < floor:
		return fmt.Sprintf("%.2f× slower", floor/lib)
	default:
		return fmt.Sprintf("%.2f× faster", lib/floor)
	}
}

// cpuRatio says how the CPU a library request costs compares with the
// floor's.
func cpuRatio(lib, floor time.Duration) string {
	if lib == 0 || floor == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", float64(lib)/float64(floor))
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
