package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/usermgmt/usermgmt"
)

// exportUsers streams the users the list's filters select (status, role,
// q, as GET /users takes them) as a CSV or JSONL attachment.
func (h *Handler) exportUsers(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	q := r.URL.Query()
	if err := onlyParams(q, "format", "status", "role", "q"); err != nil {
		return err
	}
	status := usermgmt.Status(q.Get("status"))
	if status == "all" {
		status = ""
	}
	f := exportFormat(q.Get("format"))
	d := h.download(w, r, "users", f)
	return d.end(h.m.ExportUsers(r.Context(), p.TenantID, usermgmt.ExportUsersQuery{
		Status: status, Role: usermgmt.Role(q.Get("role")), Search: q.Get("q")}, f, d))
}

// exportActivity streams the tenant's activity of [from, to) (RFC 3339
// times; without from, from the oldest event kept; without to, until
// now) as a CSV or JSONL attachment.
func (h *Handler) exportActivity(w http.ResponseWriter, r *http.Request, p usermgmt.Principal) error {
	q := r.URL.Query()
	if err := onlyParams(q, "format", "from", "to"); err != nil {
		return err
	}
	var rng usermgmt.ExportActivityQuery
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &rng.From}, {"to", &rng.To}} {
		name, t := p.name, p.t
		if s := q.Get(name); s != "" {
			v, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return &usermgmt.Error{Code: usermgmt.CodeInvalid, Field: name,
					Message: name + " must be a time as RFC 3339 writes it (2026-11-01T00:00:00Z)"}
			}
			*t = v
		}
	}
	f := exportFormat(q.Get("format"))
	d := h.download(w, r, "activity", f)
	return d.end(h.m.ExportActivity(r.Context(), p.TenantID, rng, f, d))
}

// exportFormat is the format a request names; CSV when it names none.
func exportFormat(s string) usermgmt.ExportFormat {
	if s == "" {
		return usermgmt.ExportCSV
	}
	return usermgmt.ExportFormat(s)
}

// download is the body of an export's answer, written as the Manager
// writes it (the ResponseWriter sends it in chunks: nothing holds the
// whole export). The status and headers go with the first byte, so that
// an error before it (a bad filter, a permission) is answered as any
// error is.
type download struct {
	h        *Handler
	w        http.ResponseWriter
	r        *http.Request
	name     string
	format   usermgmt.ExportFormat
	at       time.Time
	answered bool
}

func (h *Handler) download(w http.ResponseWriter, r *http.Request, name string, f usermgmt.ExportFormat) *download {
	return &download{h: h, w: w, r: r, name: name, format: f, at: h.now()}
}

func (d *download) Write(p []byte) (int, error) {
	if !d.answered {
		d.answer()
	}
	return d.w.Write(p)
}

// answer sends the status and the headers of the attachment.
func (d *download) answer() {
	d.answered = true
	ct := "text/csv; charset=utf-8; header=present"
	if d.format == usermgmt.ExportJSONL {
		ct = "application/jsonl; charset=utf-8"
	}
	hd := d.w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment",
		map[string]string{"filename": d.name + "-" + d.at.UTC().Format("2006-01-02T150405Z") + "." + string(d.format)}))
	d.w.WriteHeader(http.StatusOK)
}

// end finishes the answer after the export returned err. An export
// without a byte (JSONL of nothing) is still an attachment. An error after
// the first byte cannot be answered any more: the connection is cut
// (http.ErrAbortHandler), so that the client sees a failed download
// rather than a file that looks whole; an internal error is logged first.
func (d *download) end(err error) error {
	switch {
	case err == nil && !d.answered:
		d.answer()
	case err != nil && d.answered:
		if usermgmt.ErrorCode(err) == usermgmt.CodeInternal && !errors.Is(err, context.Canceled) {
			d.h.log.LogAttrs(d.r.Context(), slog.LevelError, "httpapi: export cut short",
				slog.String("path", d.r.URL.Path), slog.Any("err", err))
		}
		panic(http.ErrAbortHandler)
	}
	return err
}
