package usermgmt_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/webhooktest"
)

// standardWebhooksVersion is the npm standardwebhooks package the
// deliveries are verified with; .ci/run installs it.
const standardWebhooksVersion = "1.1.1"

// standardWebhooks returns the directory of the npm standardwebhooks
// package: USERMGMT_STANDARDWEBHOOKS, or where .ci/run installs it.
// Without it (or node) the test is skipped, unless USERMGMT_REQUIRE_NODE=1
// makes that a failure.
func standardWebhooks(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("USERMGMT_STANDARDWEBHOOKS")
	if dir == "" {
		if cache, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(cache, "usermgmt", "standardwebhooks@"+standardWebhooksVersion, "node_modules", "standardwebhooks")
		}
	}
	_, statErr := os.Stat(filepath.Join(dir, "package.json"))
	_, nodeErr := exec.LookPath("node")
	if statErr != nil || nodeErr != nil {
		if os.Getenv("USERMGMT_REQUIRE_NODE") == "1" {
			t.Fatalf("USERMGMT_REQUIRE_NODE=1 but no node or no standardwebhooks at %q (.ci/run installs it): %v %v",
				dir, statErr, nodeErr)
		}
		t.Skipf("no node or no standardwebhooks at %q (npm install standardwebhooks@%s, or run .ci/run)", dir,
			standardWebhooksVersion)
	}
	return dir
}

// verifyScript verifies, with the package's Webhook class, each case read
// from stdin and prints "ok" or "rejected: why" for each.
const verifyScript = `
const { Webhook } = require(process.argv[1]);
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((c) => {
    try {
      new Webhook(c.secret).verify(Buffer.from(c.body, "base64"), {
        "webhook-id": c.id, "webhook-timestamp": c.timestamp, "webhook-signature": c.signature,
      });
      return "ok";
    } catch (e) {
      return "rejected: " + e.message;
    }
  });
  console.log(JSON.stringify(out));
});
`

type nodeCase struct {
	Secret, ID, Timestamp, Signature string
	Body                             []byte
}

func (c nodeCase) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"secret": c.Secret, "id": c.ID, "timestamp": c.Timestamp,
		"signature": c.Signature, "body": c.Body})
}

// nodeVerify runs the cases through the npm verifier.
func nodeVerify(t *testing.T, pkg string, cases []nodeCase) []string {
	t.Helper()
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	cmd := exec.Command("node", "-e", verifyScript, pkg)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	var got []string
	require.NoError(t, json.Unmarshal(out, &got), string(out))
	return got
}

func asCase(secret string, r webhooktest.Request) nodeCase {
	return nodeCase{Secret: secret, ID: r.ID, Timestamp: r.Timestamp, Signature: r.Signature, Body: r.Body}
}

// TestWebhooksVerifyWithTheNpmStandardWebhooks: real deliveries to a local
// receiver pass the verifier receivers use; a changed body, an old
// timestamp and a wrong secret do not; after a rotation, both secrets
// verify during the grace period.
func TestWebhooksVerifyWithTheNpmStandardWebhooks(t *testing.T) {
	pkg := standardWebhooks(t)
	e := mustManager(t, allowLocal)
	e.clock.Advance(time.Since(e.clock.Now())) // the verifier holds the timestamp to the wall clock
	rcv := webhooktest.New(t)
	ep, secret := e.hook(t, rcv.URL)
	u, _ := e.invite(t, "ann@acme.test")
	_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	require.Equal(t, 4, e.deliverHooks(t), "created, invited, deactivated, sessions revoked")
	got := rcv.Requests()

	var cases []nodeCase
	for _, r := range got {
		cases = append(cases, asCase(secret, r))
	}
	tampered := asCase(secret, got[2])
	tampered.Body = bytes.Replace(tampered.Body, []byte(`"deactivated"`), []byte(`"active"`), 1)
	require.NotEqual(t, got[2].Body, tampered.Body)
	wrong := asCase("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", got[0])

	// An attempt made ten minutes ago (the Manager's clock behind).
	e.clock.Advance(-10 * time.Minute)
	require.NoError(t, e.m.ResendWebhook(e.ctx, tenant, ep.ID, rcvMessageID(t, e, ep, got[0].ID)))
	require.Equal(t, 1, e.deliverHooks(t))
	old := asCase(secret, rcv.Requests()[len(got)])
	e.clock.Advance(10 * time.Minute)

	res := nodeVerify(t, pkg, append(cases, tampered, wrong, old))
	for i := range got {
		assert.Equal(t, "ok", res[i], "delivery %d", i)
	}
	assert.Contains(t, res[len(got)], "rejected", "a changed body")
	assert.Contains(t, res[len(got)+1], "rejected", "another secret")
	assert.Contains(t, res[len(got)+2], "rejected", "a timestamp ten minutes old")

	t.Run("BothSecretsVerifyDuringTheGrace", func(t *testing.T) {
		fresh, err := e.m.RotateWebhookSecret(e.sudo(e.admin), tenant, ep.ID)
		require.NoError(t, err)
		_, err = e.m.Activate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		before := len(rcv.Requests())
		require.Equal(t, 1, e.deliverHooks(t))
		r := rcv.Requests()[before]
		res := nodeVerify(t, pkg, []nodeCase{asCase(fresh, r), asCase(secret, r)})
		assert.Equal(t, []string{"ok", "ok"}, res)
	})
}

// rcvMessageID finds the message id of the delivery whose webhook-id is id.
func rcvMessageID(t *testing.T, e *env, ep usermgmt.WebhookEndpoint, id string) uuid.UUID {
	t.Helper()
	for _, d := range e.deliveries(t, ep) {
		if usermgmt.WebhookMessageID(d.MessageID) == id {
			return d.MessageID
		}
	}
	t.Fatalf("no delivery with webhook-id %s", id)
	return uuid.Nil
}
