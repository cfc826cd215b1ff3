package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// contentType is the media type of every answer (RFC 7644 §3.1).
const contentType = "application/scim+json"

// writeJSON answers v as SCIM JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only our own types are written: a bug
		status = http.StatusInternalServerError
		b = []byte(`{"schemas":["` + errorSchema + `"],"status":"500","detail":"` + internalDetail + `"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// readObject reads the request body as one JSON object, numbers kept as
// json.Number. It answers 413 beyond the body cap and 400 invalidSyntax
// for anything that is not one object.
func readObject(r *http.Request) (map[string]any, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "", "the body is larger than %d bytes", tooLarge.Limit)
		}
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "the body could not be read")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "the body is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(http.StatusBadRequest, typeInvalidSyntax, "the body has more than one JSON value")
	}
	return obj, nil
}

// etag is the weak entity tag of a resource version (meta.version).
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch returns the version an If-Match header asks for: 0 when there is
// none or it is "*". A tag this service never made answers 412, as a
// version it does not have.
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	tag := strings.TrimPrefix(v, "W/")
	if n, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64); err == nil && n > 0 && strings.HasPrefix(tag, `"`) {
		return n, nil
	}
	return 0, errorf(http.StatusPreconditionFailed, "", "If-Match %s names no version of this resource", v)
}

// ref is what a request on one resource names: its id, and the version
// If-Match asks for (0: any).
type ref struct {
	id   uuid.UUID
	want int64
}

// pathID reads the {id} of the path; anything but a UUID is no such
// resource (404). what names the resource type in the message.
func pathID(r *http.Request, what string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return id, errorf(http.StatusNotFound, "", "there is no %s %s", what, r.PathValue("id"))
	}
	return id, nil
}

// refOf reads the {id} of the path and If-Match.
func refOf(r *http.Request, what string) (ref, error) {
	id, err := pathID(r, what)
	if err != nil {
		return ref{}, err
	}
	want, err := ifMatch(r)
	return ref{id: id, want: want}, err
}

// check is the 412 of an If-Match that names another version than the
// resource's.
func (rf ref) check(version int64) error {
	if rf.want != 0 && rf.want != version {
		return errorf(http.StatusPreconditionFailed, "", "the resource changed since the version given in If-Match; read it again")
	}
	return nil
}

// deleteAt answers a DELETE: version reads the resource's version (or its
// 404), If-Match is checked against it, del deletes, and the answer is 204.
func deleteAt(w http.ResponseWriter, rf ref, version func() (int64, error), del func() error) error {
	v, err := version()
	if err != nil {
		return err
	}
	if err := rf.check(v); err != nil {
		return err
	}
	if err := del(); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// noContent answers 204, still as SCIM JSON's media type.
func noContent(w http.ResponseWriter) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusNoContent)
}

// lookup returns the value of the key of obj that equals name ignoring
// case (SCIM attribute names are case-insensitive), and whether there is
// one.
func lookup(obj map[string]any, name string) (any, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// stringValue reads a string attribute: null is "", anything but a string
// is 400 invalidValue.
func stringValue(attr string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", errorf(http.StatusBadRequest, typeInvalidValue, "%s must be a string", attr)
}

// boolValue reads a boolean attribute: true or false, or, as Entra ID
// sends them, the strings "True" and "False" in any case.
func boolValue(attr string, v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, errorf(http.StatusBadRequest, typeInvalidValue, "%s must be true or false", attr)
}
