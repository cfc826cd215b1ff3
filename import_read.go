package usermgmt

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The columns of an import file: the header of a CSV file, the keys of a
// JSONL object. Only email is required.
var importColumns = []string{"email", "roles", "status", "display_name", "given_name", "family_name", "external_id",
	"employee_number", "department", "manager_id", "created_at", "last_login_at", "password_hash", "password_salt",
	"totp_secret"}

// ImportColumns returns the columns ReadImportCSV and ReadImportJSONL read,
// in the order of the documentation.
func ImportColumns() []string { return append([]string(nil), importColumns...) }

// maxImportLine bounds one JSONL line, so a file without line breaks
// cannot fill memory.
const maxImportLine = 1 << 20

// setImportField sets the column col of r from its text. Roles are
// separated by semicolons, commas or spaces; times are RFC 3339, or Unix
// time in seconds or milliseconds (as Firebase exports them).
func setImportField(r *ImportRecord, col, v string) error {
	var err error
	switch col {
	case "email":
		r.Email = v
	case "roles":
		r.Roles = nil
		for _, s := range strings.FieldsFunc(v, func(c rune) bool { return c == ';' || c == ',' || c == ' ' }) {
			r.Roles = append(r.Roles, Role(s))
		}
	case "status":
		r.Status = Status(strings.ToLower(strings.TrimSpace(v)))
	case "display_name":
		r.DisplayName = v
	case "given_name":
		r.GivenName = v
	case "family_name":
		r.FamilyName = v
	case "external_id":
		r.ExternalID = v
	case "employee_number":
		r.EmployeeNumber = v
	case "department":
		r.Department = v
	case "manager_id":
		r.ManagerID = v
	case "created_at":
		var t *time.Time
		if t, err = parseImportTime(col, v); t != nil {
			r.CreatedAt = *t
		}
	case "last_login_at":
		r.LastLoginAt, err = parseImportTime(col, v)
	case "password_hash":
		r.PasswordHash = strings.TrimSpace(v)
	case "password_salt":
		r.PasswordSalt = strings.TrimSpace(v)
	case "totp_secret":
		r.TOTPSecret = v
	default:
		return errUnknownColumn("column", col)
	}
	return err
}

// parseImportTime reads a time column; "" is none.
func parseImportTime(col, v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		t := time.Unix(n, 0)
		if len(v) > 11 { // beyond 5138 in seconds: milliseconds
			t = time.UnixMilli(n)
		}
		t = t.UTC()
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, fieldErrorf(col, CodeInvalid, "%s is not an RFC 3339 time or a Unix time", col)
	}
	t = t.UTC()
	return &t, nil
}

// ReadImportCSV reads import records from CSV: a header row naming the
// columns (ImportColumns, in any order, email required), then one user a
// row. Each record carries the line it starts on. A row that cannot be
// read (a wrong number of cells, a bad quote, a bad time) is yielded as an
// invalid error with its line, and reading goes on; a header that cannot
// be read ends the records with an invalid error on line 1; an error of r
// ends them with that error. Memory is flat in the number of rows.
func ReadImportCSV(r io.Reader) iter.Seq2[ImportRecord, error] {
	return func(yield func(ImportRecord, error) bool) {
		cr := csv.NewReader(r)
		cr.ReuseRecord = true
		header, err := cr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			yield(ImportRecord{Line: 1}, readErr("the header", err))
			return
		}
		cols := make([]string, len(header))
		seen := map[string]bool{}
		for i, h := range header {
			if i == 0 {
				h = strings.TrimPrefix(h, "\ufeff") // a byte order mark, as spreadsheets write
			}
			cols[i] = strings.ToLower(strings.TrimSpace(h))
			var err error
			switch {
			case !slices.Contains(importColumns, cols[i]):
				err = errUnknownColumn("column", cols[i])
			case seen[cols[i]]:
				err = Errorf(CodeInvalid, "column %q appears twice", cols[i])
			}
			if err != nil {
				yield(ImportRecord{Line: 1}, err)
				return
			}
			seen[cols[i]] = true
		}
		if !seen["email"] {
			yield(ImportRecord{Line: 1}, Errorf(CodeInvalid, "the header has no email column"))
			return
		}
		for {
			row, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			var rec ImportRecord
			var pe *csv.ParseError
			switch {
			case errors.As(err, &pe):
				rec.Line = pe.StartLine
				if !yield(rec, readErr("the row", pe.Err)) {
					return
				}
				continue
			case err != nil:
				yield(rec, internalf(err, "reading the file"))
				return
			}
			rec.Line, _ = cr.FieldPos(0)
			for i, v := range row {
				if err = setImportField(&rec, cols[i], v); err != nil {
					break
				}
			}
			if !yield(rec, err) {
				return
			}
		}
	}
}

// readErr is an invalid error for a part of an import file that cannot be
// read.
func readErr(what string, err error) error {
	return Errorf(CodeInvalid, "%s cannot be read: %v", what, err)
}

// ReadImportJSONL reads import records from JSON Lines: one JSON object a
// line, its keys the columns (ImportColumns), each a string (roles may be
// an array of strings, times a number of Unix milliseconds) or null.
// Blank lines are skipped. A line that is not such an object is yielded
// as an invalid error with its line, and reading goes on; an error of r
// ends the records with that error. Memory is flat in the number of lines
// (a line is at most 1 MiB).
func ReadImportJSONL(r io.Reader) iter.Seq2[ImportRecord, error] {
	return func(yield func(ImportRecord, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		var buf []byte
		for line := 1; ; line++ {
			b, long, err := readLine(br, &buf)
			if err != nil && !errors.Is(err, io.EOF) {
				yield(ImportRecord{Line: line}, internalf(err, "reading the file"))
				return
			}
			if len(bytes.TrimSpace(b)) > 0 || long {
				rec := ImportRecord{Line: line}
				var perr error = Errorf(CodeInvalid, "the line is longer than %d bytes", maxImportLine)
				if !long {
					perr = parseImportJSON(&rec, b)
				}
				if !yield(rec, perr) {
					return
				}
			}
			if errors.Is(err, io.EOF) {
				return
			}
		}
	}
}

// readLine reads one line into *buf (reused), without its line break;
// long reports a line past maxImportLine, which is skipped to its end.
func readLine(br *bufio.Reader, buf *[]byte) (line []byte, long bool, err error) {
	*buf = (*buf)[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if !long {
			*buf = append(*buf, chunk...)
			if len(*buf) > maxImportLine {
				long, *buf = true, (*buf)[:0]
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(*buf, "\r\n"), long, err
	}
}

// parseImportJSON fills rec from one JSONL object; the error is invalid,
// naming the line (and the key at fault).
func parseImportJSON(rec *ImportRecord, b []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return Errorf(CodeInvalid, "the line is not a JSON object")
	}
	for _, col := range importColumns { // the documented order: errors do not depend on map order
		raw, ok := obj[col]
		if !ok {
			continue
		}
		delete(obj, col)
		var s string
		var roles []string
		var n json.Number
		switch {
		case string(raw) == "null":
		case json.Unmarshal(raw, &s) == nil:
		case col == "roles" && json.Unmarshal(raw, &roles) == nil:
			s = strings.Join(roles, ";")
		case (col == "created_at" || col == "last_login_at") && json.Unmarshal(raw, &n) == nil:
			s = n.String()
		default:
			return fieldErrorf(col, CodeInvalid, "%s must be a string", col)
		}
		if err := setImportField(rec, col, s); err != nil {
			return err
		}
	}
	for k := range obj {
		return errUnknownColumn("key", k)
	}
	return nil
}

func errUnknownColumn(what, name string) error {
	return Errorf(CodeInvalid, "unknown %s %q; the %ss are %s", what, name, what, strings.Join(importColumns, ", "))
}
