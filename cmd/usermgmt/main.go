// Command usermgmt moves a tenant's users in and out of a usermgmt
// database, as trusted code (usermgmt.AsSystem): whoever runs it holds
// the database URL already.
//
//	export USERMGMT_SECRET_KEY=…   # the application's key: it seals the imported TOTP secrets
//	go run ./cmd/usermgmt import -database-url 'postgres://…' -tenant acme users.csv
//	go run ./cmd/usermgmt import -database-url 'postgres://…' -tenant acme -dry-run users.jsonl
//	go run ./cmd/usermgmt export -database-url 'postgres://…' -tenant acme -format jsonl > users.jsonl
//	go run ./cmd/usermgmt export -database-url 'postgres://…' -tenant acme -activity -from 2026-11-01T00:00:00Z > events.csv
//
// import reads CSV or JSONL (by the file's extension, or -format) with
// the columns of usermgmt.ImportColumns, writes batches of 1,000 users,
// each in one transaction, and shows a progress bar with rows/s and the
// time left on a terminal (a line every few seconds otherwise), then a
// report: the counts and the first refused records with their lines. It
// exits 1 when a record was refused or the import stopped. Invitations
// (-invite) wait in the outbox for the application's worker (Run).
//
// export writes the tenant's users (the user list's filters apply), or
// its activity of a time range, to stdout or -o.
package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/pgopen"
	"github.com/usermgmt/usermgmt/store/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv, isTerminal(os.Stdout))
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "usermgmt:", err)
		os.Exit(1)
	}
}

// isTerminal reports whether f is a terminal (a character device), where
// a progress bar redraws itself.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

const usage = `usage: usermgmt import -database-url URL -tenant ID [flags] users.csv|users.jsonl
       usermgmt export -database-url URL -tenant ID [-format csv|jsonl] [-users | -activity -from T -to T] [flags]
Run "usermgmt import -h" or "usermgmt export -h" for the flags.`

// run is the command with its arguments; out gets the output (the
// progress, the report, or the export without -o).
func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string, terminal bool) error {
	if len(args) == 0 {
		fmt.Fprintln(out, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "import":
		return runImport(ctx, args[1:], out, getenv, terminal)
	case "export":
		return runExport(ctx, args[1:], out, getenv)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(out, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// common are the flags of both commands.
type common struct {
	databaseURL, schema, tenant, secretKey string
}

func (c *common) flags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.databaseURL, "database-url", getenv("USERMGMT_DATABASE_URL"), "PostgreSQL URL (env USERMGMT_DATABASE_URL)")
	fs.StringVar(&c.schema, "database-schema", postgres.DefaultSchema, "the PostgreSQL schema of the tables")
	fs.StringVar(&c.tenant, "tenant", "", "the tenant's id (required)")
	fs.StringVar(&c.secretKey, "secret-key", getenv("USERMGMT_SECRET_KEY"),
		"the application's 64 hex digits (env USERMGMT_SECRET_KEY): imported TOTP secrets are sealed with it")
}

// open checks the common flags and returns a Manager on the database and
// a function that closes it; needKey asks for the application's secret
// key (else a random one will do), baseURL is where the links of
// invitations point. Mail is never sent from here: an invitation waits
// in the outbox for the application's worker.
func (c *common) open(ctx context.Context, needKey bool, baseURL string) (*usermgmt.Manager, func(), error) {
	if c.databaseURL == "" {
		return nil, nil, errors.New("-database-url is required")
	}
	if c.tenant == "" {
		return nil, nil, errors.New("-tenant is required")
	}
	key, err := pgopen.SecretKey(c.secretKey, needKey)
	if err != nil {
		return nil, nil, err
	}
	store, closeStore, err := pgopen.Store(ctx, c.databaseURL, c.schema, 4)
	if err != nil {
		return nil, nil, err
	}
	m, err := usermgmt.New(store, usermgmt.Options{Mailer: outboxOnly{}, SecretKey: key,
		Links: usermgmt.Links{BaseURL: cmp.Or(baseURL, "https://example.invalid")}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	return m, func() { _ = m.Close(); closeStore() }, nil
}

// outboxOnly is the command's Mailer: it sends nothing, so that every
// mail stays in the outbox for the application to deliver.
type outboxOnly struct{}

func (outboxOnly) Send(context.Context, usermgmt.Message) error {
	return errors.New("usermgmt command: mail is left to the application's outbox worker")
}

func runImport(ctx context.Context, args []string, out io.Writer, getenv func(string) string, terminal bool) error {
	fs := flag.NewFlagSet("usermgmt import", flag.ContinueOnError)
	fs.SetOutput(out)
	var c common
	c.flags(fs, getenv)
	var o usermgmt.ImportOptions
	var existing, roles, format, links string
	var fb struct {
		signer, separator string
		rounds, memCost   int
	}
	fs.BoolVar(&o.DryRun, "dry-run", false, "check every record and report, writing nothing")
	fs.StringVar(&existing, "existing", "skip", "what to do with an email the tenant has: skip or update")
	fs.StringVar(&roles, "roles", "", "roles for records that name none, comma-separated (e.g. agent)")
	fs.BoolVar(&o.Invite, "invite", false, "mail an invitation to each user imported without a password (through the outbox)")
	fs.StringVar(&links, "base-url", "", "with -invite: the application's URL, for the links in invitations")
	fs.IntVar(&o.BatchSize, "batch", usermgmt.DefaultImportBatch, "records per transaction")
	fs.IntVar(&o.MaxErrors, "errors", 1000, "refused records to keep for the report (all are counted)")
	fs.StringVar(&format, "format", "", "csv or jsonl (default: by the file's extension)")
	fs.StringVar(&fb.signer, "firebase-signer-key", "", "Firebase: base64_signer_key of the project's password hash parameters")
	fs.StringVar(&fb.separator, "firebase-salt-separator", "", "Firebase: base64_salt_separator")
	fs.IntVar(&fb.rounds, "firebase-rounds", 0, "Firebase: rounds")
	fs.IntVar(&fb.memCost, "firebase-mem-cost", 0, "Firebase: mem_cost")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give one file to import (users.csv or users.jsonl)")
	}
	o.Existing = usermgmt.ImportExisting(existing)
	for _, r := range strings.FieldsFunc(roles, func(c rune) bool { return c == ',' || c == ';' || c == ' ' }) {
		o.Roles = append(o.Roles, usermgmt.Role(r))
	}
	if fb.signer != "" {
		key, err := base64.StdEncoding.DecodeString(fb.signer)
		if err != nil {
			return errors.New("-firebase-signer-key is not base64")
		}
		sep, err := base64.StdEncoding.DecodeString(fb.separator)
		if err != nil {
			return errors.New("-firebase-salt-separator is not base64")
		}
		o.Firebase = &usermgmt.FirebaseScrypt{SignerKey: key, SaltSeparator: sep, Rounds: fb.rounds, MemCost: fb.memCost}
	}
	if o.Invite && links == "" {
		return errors.New("-invite needs -base-url, the application's URL for the links")
	}
	path := fs.Arg(0)
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	}
	read := map[string]func(io.Reader) iter.Seq2[usermgmt.ImportRecord, error]{
		"csv": usermgmt.ReadImportCSV, "jsonl": usermgmt.ReadImportJSONL, "ndjson": usermgmt.ReadImportJSONL,
	}[format]
	if read == nil {
		return fmt.Errorf("-format must be csv or jsonl, not %q", format)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	m, closeAll, err := c.open(ctx, true, links)
	if err != nil {
		return err
	}
	defer closeAll()

	in := &countingReader{r: f}
	p := newProgress(out, terminal, fi.Size(), in, time.Now())
	o.Progress = p.update
	res, err := m.ImportUsers(usermgmt.AsSystem(ctx), c.tenant, read(in), o)
	p.done()
	report(out, res, o.DryRun, time.Since(p.start))
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d records refused", res.Failed)
	}
	return nil
}

// report prints the outcome of an import.
func report(out io.Writer, res usermgmt.ImportResult, dryRun bool, took time.Duration) {
	head := ""
	if dryRun {
		head = "dry run, nothing written: would have "
	}
	fmt.Fprintf(out, "%d records read in %s (%.0f rows/s): %screated %d, updated %d, skipped %d (already there); refused %d\n",
		res.Read, took.Round(time.Millisecond), float64(res.Read)/max(took.Seconds(), 1e-9), head,
		res.Created, res.Updated, res.Skipped, res.Failed)
	const shown = 20
	for i, e := range res.Errors {
		if i == shown {
			break
		}
		field := ""
		if e.Field != "" {
			field = " " + e.Field + ":"
		}
		fmt.Fprintf(out, "  line %d %s: %s%s %s\n", e.Line, e.Email, e.Code, field, e.Message)
	}
	if more := res.Failed - min(len(res.Errors), shown); more > 0 {
		fmt.Fprintf(out, "  … and %d more refused records\n", more)
	}
}

func runExport(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("usermgmt export", flag.ContinueOnError)
	fs.SetOutput(out)
	var c common
	c.flags(fs, getenv)
	var format, outPath, from, to, status, role, search string
	var activity bool
	fs.StringVar(&format, "format", "csv", "csv or jsonl")
	fs.StringVar(&outPath, "o", "", "write to this file instead of stdout")
	fs.Bool("users", true, "export the users (the default)")
	fs.BoolVar(&activity, "activity", false, "export the activity log of [-from, -to) instead")
	fs.StringVar(&from, "from", "", "with -activity: the first instant, RFC 3339 (default: the oldest event)")
	fs.StringVar(&to, "to", "", "with -activity: the end, RFC 3339, not included (default: now)")
	fs.StringVar(&status, "status", "", "users: only this status (active, invited, deactivated)")
	fs.StringVar(&role, "role", "", "users: only holders of this role")
	fs.StringVar(&search, "q", "", "users: only emails containing this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("export takes no file argument (use -o): %q", fs.Arg(0))
	}
	var q usermgmt.ExportActivityQuery
	for _, t := range []struct {
		flag, v string
		into    *time.Time
	}{{"-from", from, &q.From}, {"-to", to, &q.To}} {
		if t.v == "" {
			continue
		}
		if !activity {
			return fmt.Errorf("%s goes with -activity", t.flag)
		}
		v, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return fmt.Errorf("%s is not an RFC 3339 time (2026-11-01T00:00:00Z)", t.flag)
		}
		*t.into = v
	}
	m, closeAll, err := c.open(ctx, false, "")
	if err != nil {
		return err
	}
	defer closeAll()
	w := out
	if outPath != "" {
		f, err := os.Create(outPath)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	sys := usermgmt.AsSystem(ctx)
	f := usermgmt.ExportFormat(format)
	if activity {
		err = m.ExportActivity(sys, c.tenant, q, f, w)
	} else {
		err = m.ExportUsers(sys, c.tenant, usermgmt.ExportUsersQuery{Status: usermgmt.Status(status),
			Role: usermgmt.Role(role), Search: search}, f, w)
	}
	if err != nil {
		return err
	}
	if outPath != "" {
		if f, ok := w.(*os.File); ok {
			return f.Close()
		}
	}
	return nil
}
