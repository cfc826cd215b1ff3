package smtp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/usermgmt/usermgmt"
)

// ErrInvalidMessage is wrapped by Send's error for a message that cannot
// be sent as given: a To that is not one address, or a line break or other
// control character in To or Subject (which would let the value write
// headers of its own).
var ErrInvalidMessage = errors.New("smtp: invalid message")

// compose returns the envelope recipient and the message in wire form
// (CRLF lines, 7-bit apart from a UTF-8 address). Every header value is
// either checked or encoded, and both bodies are quoted-printable, so no
// input can add a header or end the DATA early.
func (m *Mailer) compose(msg usermgmt.Message, now time.Time) (string, []byte, error) {
	if err := checkHeader("To", msg.To); err != nil {
		return "", nil, err
	}
	if err := checkHeader("Subject", msg.Subject); err != nil {
		return "", nil, err
	}
	to, err := mail.ParseAddress(msg.To)
	if err != nil {
		return "", nil, fmt.Errorf("%w: To is not one address: %v", ErrInvalidMessage, err)
	}
	if to.Address, err = asciiDomain(to.Address); err != nil {
		return "", nil, fmt.Errorf("%w: To: %v", ErrInvalidMessage, err)
	}
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(fold(name, value) + "\r\n") }
	header("Date", now.Format(time.RFC1123Z))
	header("From", m.from.String())
	header("To", to.String())
	header("Subject", encodeSubject(msg.Subject))
	header("Message-ID", "<"+messageIDLeft(msg.ID)+"@"+m.msgDomain+">")
	// RFC 3834: an automatic mail; well-behaved responders do not answer it.
	header("Auto-Submitted", "auto-generated")
	header("MIME-Version", "1.0")

	switch {
	case msg.HTML == "":
		writeSinglePart(&b, "text/plain; charset=utf-8", msg.Text)
	case msg.Text == "":
		writeSinglePart(&b, "text/html; charset=utf-8", msg.HTML)
	default:
		// The writer writes nothing before CreatePart: the headers go first.
		mw := multipart.NewWriter(&b)
		header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
		b.WriteString("\r\n")
		// Plain text first: in multipart/alternative the last part is the
		// preferred one.
		for _, p := range []struct{ ctype, body string }{
			{"text/plain; charset=utf-8", msg.Text},
			{"text/html; charset=utf-8", msg.HTML},
		} {
			w, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {p.ctype},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return "", nil, err
			}
			if err := writeQP(w, p.body); err != nil {
				return "", nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return "", nil, err
		}
	}
	return to.Address, b.Bytes(), nil
}

// messageIDLeft returns the left side of the Message-ID: id, when it is
// safe there, so that every delivery attempt of one outbox mail carries
// the same Message-ID and a repeated delivery reads as the same mail;
// otherwise 32 random hex digits. Safe is 1 to 64 ASCII letters, digits,
// '-' and '.', with no dot first, last or twice in a row (RFC 5322
// dot-atom-text), which a UUID is.
func messageIDLeft(id string) string {
	if isSafeID(id) {
		return id
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isSafeID(id string) bool {
	if id == "" || len(id) > 64 || id[0] == '.' || id[len(id)-1] == '.' || strings.Contains(id, "..") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func writeSinglePart(b *bytes.Buffer, ctype, body string) {
	b.WriteString("Content-Type: " + ctype + "\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	_ = writeQP(b, body) // a bytes.Buffer does not fail
	b.WriteString("\r\n")
}

// writeQP writes body quoted-printable: lines of at most 76 characters,
// "=" as =3D (a link's token= survives as token=3D and decodes back),
// line ends as CRLF.
func writeQP(w io.Writer, body string) error {
	qw := quotedprintable.NewWriter(w)
	if _, err := qw.Write([]byte(body)); err != nil {
		return err
	}
	return qw.Close()
}

// checkHeader refuses what would break out of a header line: CR, LF and
// every other control character but tab, and invalid UTF-8.
func checkHeader(name, value string) error {
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("%w: %s contains a line break", ErrInvalidMessage, name)
	}
	if hasControl(value) {
		return fmt.Errorf("%w: %s contains a control character", ErrInvalidMessage, name)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidMessage, name)
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return true
		}
	}
	return false
}

// asciiDomain returns addr with an internationalised domain written as
// A-labels ("ana@bücher.example" becomes "ana@xn--bcher-kva.example", by
// IDNA's UTS #46 lookup profile), in the envelope and the headers alike:
// a server without SMTPUTF8 takes such an address when its local part is
// ASCII, and with SMTPUTF8 the A-label form is as good. An ASCII domain is
// left as it is. It fails for a domain IDNA refuses.
func asciiDomain(addr string) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if isASCII(addr[at+1:]) {
		return addr, nil
	}
	domain, err := idna.Lookup.ToASCII(addr[at+1:])
	if err != nil {
		return "", fmt.Errorf("the domain of %q is not a domain name: %v", addr, err)
	}
	return addr[:at+1] + domain, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// encodeSubject leaves an ASCII subject as it is and writes any other as
// RFC 2047 Q-encoded UTF-8 words (mime splits long ones into several).
func encodeSubject(s string) string {
	if isASCII(s) {
		return s
	}
	return mime.QEncoding.Encode("utf-8", s)
}

// fold writes "name: value", breaking the line at spaces so that lines
// stay within 76 characters where a space allows it (RFC 5322 2.2.3 asks
// for 78, RFC 2047 for 76 on lines with encoded words). The first word may
// go to a continuation line of its own: an encoded word is up to 75
// characters and would not fit after "Subject: ".
func fold(name, value string) string {
	const limit = 76
	var b strings.Builder
	b.WriteString(name + ":")
	line := len(name) + 1
	for w := range strings.SplitSeq(value, " ") {
		if w != "" && line+1+len(w) > limit {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		line += 1 + len(w)
	}
	return b.String()
}
