package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/usermgmt/usermgmt"
)

// TestProgressBarOnATerminalLinesElsewhere: a terminal gets a bar redrawn
// in place with rows/s and the time left; a log gets plain lines, at most
// one every plainEvery.
func TestProgressBarOnATerminalLinesElsewhere(t *testing.T) {
	in := &countingReader{r: strings.NewReader("")}
	in.n.Store(250)
	start := time.Now().Add(-10 * time.Second)
	s := usermgmt.ImportProgress{Read: 2000, Created: 1990, Failed: 10}

	var term bytes.Buffer
	p := newProgress(&term, true, 1000, in, start)
	p.update(s)
	p.update(s)
	p.done()
	out := term.String()
	assert.Equal(t, 2, strings.Count(out, "\r\x1b[K["), "redrawn in place each time:\n%q", out)
	assert.Contains(t, out, "[#######.......................]  25%")
	assert.Contains(t, out, "2000 rows, 200 rows/s, 1990 created, 0 updated, 0 skipped, 10 refused, ETA 30s")
	assert.True(t, strings.HasSuffix(out, "\n"), "the report starts on a line of its own")

	var log bytes.Buffer
	p = newProgress(&log, false, 1000, in, start)
	p.last = start // the first update is due
	p.update(s)
	p.update(s) // too soon after
	p.done()
	assert.Equal(t, " 25% 2000 rows, 200 rows/s, 1990 created, 0 updated, 0 skipped, 10 refused, 30s left\n", log.String())
}
