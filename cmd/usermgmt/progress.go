package main

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/usermgmt/usermgmt"
)

// countingReader counts the bytes read through it: how far into the file
// the import is, for the bar and the time left.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress shows an import's progress: on a terminal a bar redrawn in
// place, with rows/s and the time left (from the share of the file read);
// elsewhere (a log, a pipe) a plain line every plainEvery.
type progress struct {
	out      io.Writer
	terminal bool
	size     int64
	in       *countingReader
	start    time.Time
	last     time.Time
	drawn    bool
}

const (
	plainEvery = 5 * time.Second
	barWidth   = 30
)

func newProgress(out io.Writer, terminal bool, size int64, in *countingReader, start time.Time) *progress {
	return &progress{out: out, terminal: terminal, size: size, in: in, start: start, last: start}
}

// update is ImportOptions.Progress.
func (p *progress) update(s usermgmt.ImportProgress) {
	now := time.Now()
	if !p.terminal && now.Sub(p.last) < plainEvery {
		return
	}
	p.last = now
	took := now.Sub(p.start)
	rate := float64(s.Read) / max(took.Seconds(), 1e-9)
	frac := 1.0
	if p.size > 0 {
		frac = min(1, float64(p.in.n.Load())/float64(p.size))
	}
	eta := "?"
	if frac > 0 {
		eta = (time.Duration(float64(took)/frac) - took).Round(time.Second).String()
	}
	counts := fmt.Sprintf("%d rows, %.0f rows/s, %d created, %d updated, %d skipped, %d refused", s.Read, rate,
		s.Created, s.Updated, s.Skipped, s.Failed)
	if !p.terminal {
		fmt.Fprintf(p.out, "%3.0f%% %s, %s left\n", frac*100, counts, eta)
		return
	}
	fill := int(frac * barWidth)
	fmt.Fprintf(p.out, "\r\x1b[K[%s%s] %3.0f%% %s, ETA %s", strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill),
		frac*100, counts, eta)
	p.drawn = true
}

// done ends the bar's line, so the report starts on its own.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.out)
	}
}
