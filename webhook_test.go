package usermgmt_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/usermgmt/usermgmt"
	"github.com/usermgmt/usermgmt/internal/webhooktest"
	"github.com/usermgmt/usermgmt/mailer/mailertest"
	"github.com/usermgmt/usermgmt/store/memory"
)

// allowLocal lets the Manager post to a local receiver.
func allowLocal(o *usermgmt.Options) { o.WebhookAllowPrivate, o.WebhookAllowHTTP = true, true }

// hook registers an endpoint at url for the event types (all when none)
// and returns it with its secret.
func (e *env) hook(t testing.TB, url string, types ...usermgmt.EventType) (usermgmt.WebhookEndpoint, string) {
	t.Helper()
	if len(types) == 0 {
		types = usermgmt.WebhookEventTypes()
	}
	ep, secret, err := e.m.CreateWebhookEndpoint(e.sudo(e.admin), tenant,
		usermgmt.WebhookEndpointInput{URL: url, EventTypes: types})
	require.NoError(t, err)
	return ep, secret
}

// deliveries returns the endpoint's deliveries, newest first.
func (e *env) deliveries(t testing.TB, ep usermgmt.WebhookEndpoint) []usermgmt.WebhookDelivery {
	t.Helper()
	page, err := e.m.ListWebhookDeliveries(e.ctx, tenant, ep.ID, usermgmt.WebhookDeliveryQuery{Limit: 200})
	require.NoError(t, err)
	return page.Deliveries
}

// deliverHooks runs a DeliverWebhooks pass and returns how many it delivered.
func (e *env) deliverHooks(t testing.TB) int {
	t.Helper()
	n, err := e.m.DeliverWebhooks(context.Background())
	require.NoError(t, err)
	return n
}

// payload decodes a webhook's body.
func payload(t testing.TB, body []byte) usermgmt.WebhookPayload {
	t.Helper()
	var p usermgmt.WebhookPayload
	require.NoError(t, json.Unmarshal(body, &p))
	return p
}

// signedBy reports whether one of the signatures of sigHeader is the
// HMAC of id.ts.body under secret, computed here from the specification.
func signedBy(secret, id, ts string, body []byte, sigHeader string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(sigHeader) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

func TestWebhookEndpoints(t *testing.T) {
	e := mustManager(t, allowLocal)
	in := usermgmt.WebhookEndpointInput{URL: "https://hooks.example.com/usermgmt",
		EventTypes: []usermgmt.EventType{usermgmt.EventDeactivated, usermgmt.EventUserCreated}, Description: " CRM "}

	t.Run("CreateNeedsSudo", func(t *testing.T) {
		_, _, err := e.m.CreateWebhookEndpoint(e.ctx, tenant, in)
		assert.Equal(t, usermgmt.CodeMFARequired, code(err))
	})
	t.Run("OnlyATenantAdmin", func(t *testing.T) {
		agent := e.seedActive(t, tenant, "agent@acme.test", usermgmt.RoleAgent)
		_, _, err := e.m.CreateWebhookEndpoint(e.sudo(agent), tenant, in)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
		_, err = e.m.ListWebhookEndpoints(e.as(agent), tenant)
		assert.Equal(t, usermgmt.CodePermissionDenied, code(err))
	})

	ep, secret, err := e.m.CreateWebhookEndpoint(e.sudo(e.admin), tenant, in)
	require.NoError(t, err)
	t.Run("SecretIsWhsecOf32Bytes", func(t *testing.T) {
		require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		require.NoError(t, err)
		assert.Len(t, key, 32)
	})
	t.Run("TypesInListOrderAndDescriptionTrimmed", func(t *testing.T) {
		assert.Equal(t, []usermgmt.EventType{usermgmt.EventUserCreated, usermgmt.EventDeactivated}, ep.EventTypes)
		assert.Equal(t, "CRM", ep.Description)
		got, err := e.m.GetWebhookEndpoint(e.ctx, tenant, ep.ID)
		require.NoError(t, err)
		assert.Equal(t, ep, got)
		list, err := e.m.ListWebhookEndpoints(e.ctx, tenant)
		require.NoError(t, err)
		assert.Equal(t, []usermgmt.WebhookEndpoint{ep}, list)
	})
	t.Run("BadInputsNameTheirField", func(t *testing.T) {
		for _, c := range []struct {
			url   string
			types []usermgmt.EventType
			desc  string
			field string
		}{
			{"ftp://hooks.example.com/", nil, "", usermgmt.FieldURL},
			{"hooks.example.com/x", nil, "", usermgmt.FieldURL},
			{"https://user:pw@hooks.example.com/", nil, "", usermgmt.FieldURL},
			{"https:///path", nil, "", usermgmt.FieldURL},
			{"https://hooks.example.com/#frag", nil, "", usermgmt.FieldURL},
			{"https://hooks.example.com/", []usermgmt.EventType{}, "", usermgmt.FieldEventTypes},
			{"https://hooks.example.com/", []usermgmt.EventType{usermgmt.EventLoginSucceeded}, "", usermgmt.FieldEventTypes},
			{"https://hooks.example.com/", nil, strings.Repeat("x", 201), usermgmt.FieldDescription},
		} {
			types := c.types
			if types == nil {
				types = []usermgmt.EventType{usermgmt.EventDeactivated}
			}
			_, _, err := e.m.CreateWebhookEndpoint(e.sudo(e.admin), tenant,
				usermgmt.WebhookEndpointInput{URL: c.url, EventTypes: types, Description: c.desc})
			assert.Equal(t, usermgmt.CodeInvalid, code(err), c.url)
			assert.Equal(t, c.field, usermgmt.ErrorField(err), c.url)
		}
	})
	t.Run("HTTPOnlyWhenAllowed", func(t *testing.T) {
		strict := mustManager(t)
		_, _, err := strict.m.CreateWebhookEndpoint(strict.sudo(strict.admin), tenant,
			usermgmt.WebhookEndpointInput{URL: "http://hooks.example.com/", EventTypes: in.EventTypes})
		assert.Equal(t, usermgmt.FieldURL, usermgmt.ErrorField(err))
		_, _, err = e.m.CreateWebhookEndpoint(e.sudo(e.admin), tenant,
			usermgmt.WebhookEndpointInput{URL: "http://hooks.example.com/", EventTypes: in.EventTypes})
		assert.NoError(t, err)
	})
	t.Run("UpdateNeedsSudoAndKeepsTheSecret", func(t *testing.T) {
		up := usermgmt.WebhookEndpointInput{URL: "https://other.example.com/h", EventTypes: []usermgmt.EventType{usermgmt.EventErased}}
		_, err := e.m.UpdateWebhookEndpoint(e.ctx, tenant, ep.ID, up)
		assert.Equal(t, usermgmt.CodeMFARequired, code(err))
		got, err := e.m.UpdateWebhookEndpoint(e.sudo(e.admin), tenant, ep.ID, up)
		require.NoError(t, err)
		assert.Equal(t, up.URL, got.URL)
		assert.Equal(t, up.EventTypes, got.EventTypes)
		assert.Equal(t, ep.CreatedAt, got.CreatedAt)
	})
	t.Run("OtherTenantIsNotFound", func(t *testing.T) {
		other := e.seedActive(t, "globex", "admin@globex.test", usermgmt.RoleTenantAdmin)
		_, err := e.m.GetWebhookEndpoint(e.as(other), "globex", ep.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
		err = e.m.DeleteWebhookEndpoint(e.sudo(other), "globex", ep.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
		_, err = e.m.RotateWebhookSecret(e.sudo(other), "globex", ep.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
	})
	t.Run("RotateNeedsSudo", func(t *testing.T) {
		_, err := e.m.RotateWebhookSecret(e.ctx, tenant, ep.ID)
		assert.Equal(t, usermgmt.CodeMFARequired, code(err))
	})
	t.Run("DeleteNeedsSudo", func(t *testing.T) {
		err := e.m.DeleteWebhookEndpoint(e.ctx, tenant, ep.ID)
		assert.Equal(t, usermgmt.CodeMFARequired, code(err))
		require.NoError(t, e.m.DeleteWebhookEndpoint(e.sudo(e.admin), tenant, ep.ID))
		_, err = e.m.GetWebhookEndpoint(e.ctx, tenant, ep.ID)
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
	})
	t.Run("AtMostTwentyATenant", func(t *testing.T) {
		f := mustManager(t)
		for i := range 20 {
			_, _, err := f.m.CreateWebhookEndpoint(f.sudo(f.admin), tenant, usermgmt.WebhookEndpointInput{
				URL: "https://h.example.com/" + strconv.Itoa(i), EventTypes: in.EventTypes})
			require.NoError(t, err)
		}
		_, _, err := f.m.CreateWebhookEndpoint(f.sudo(f.admin), tenant, in)
		assert.Equal(t, usermgmt.CodeInvalid, code(err))
	})
}

func TestWebhookMessageCommitsWithItsChange(t *testing.T) {
	e := mustManager(t, allowLocal)
	rcv := webhooktest.New(t)
	ep, _ := e.hook(t, rcv.URL, usermgmt.EventDeactivated, usermgmt.EventRoleGranted)
	u := e.seedActive(t, tenant, "ann@acme.test", usermgmt.RoleAgent)

	t.Run("AFailingChangeQueuesNothing", func(t *testing.T) {
		// The deactivation does all its work, its message queued, and then
		// its commit fails.
		failing, err := usermgmt.New(webhooktest.FailingCommit(e.store), usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now,
			SecretKey: testKey, Links: usermgmt.Links{BaseURL: "https://app.example.com"}})
		require.NoError(t, err)
		_, err = failing.Deactivate(e.ctx, tenant, u.ID)
		require.Equal(t, usermgmt.CodeInternal, code(err))
		assert.Empty(t, e.deliveries(t, ep))
	})
	t.Run("OnlyTheTypesSubscribedTo", func(t *testing.T) {
		_, err := e.m.RevokeRole(e.ctx, tenant, u.ID, usermgmt.RoleAgent)
		require.NoError(t, err)
		assert.Empty(t, e.deliveries(t, ep))
	})
	t.Run("TheChangeCommitsItsMessage", func(t *testing.T) {
		_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		ds := e.deliveries(t, ep)
		require.Len(t, ds, 1)
		assert.Equal(t, usermgmt.WebhookPending, ds[0].Status)
		assert.Equal(t, usermgmt.EventDeactivated, ds[0].EventType)
		assert.Equal(t, u.ID, ds[0].UserID)
	})
	t.Run("TheMessageCarriesTheUserAsTheChangeLeftThem", func(t *testing.T) {
		assert.Equal(t, 1, e.deliverHooks(t))
		got := rcv.Requests()
		require.Len(t, got, 1)
		p := payload(t, got[0].Body)
		assert.Equal(t, usermgmt.EventDeactivated, p.Type)
		assert.Equal(t, e.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"), p.Timestamp)
		assert.Equal(t, tenant, p.Data.TenantID)
		assert.Equal(t, usermgmt.WebhookUser{ID: u.ID, Email: u.Email, Status: usermgmt.StatusDeactivated,
			Roles: []usermgmt.Role{}}, p.Data.User)
		require.NotNil(t, p.Data.Actor.ID)
		assert.Equal(t, e.admin.ID, *p.Data.Actor.ID)
		log := e.events(t, tenant, u.ID)
		i := slices.IndexFunc(log, func(e usermgmt.Event) bool { return e.Type == usermgmt.EventDeactivated })
		assert.Equal(t, log[i].ID, p.Data.EventID)
		assert.Equal(t, "application/json", got[0].ContentType)
	})
	t.Run("NotifiedEndpointsOnly", func(t *testing.T) {
		// A disabled endpoint and another tenant's get nothing queued.
		other := e.seedActive(t, "globex", "admin@globex.test", usermgmt.RoleTenantAdmin)
		_, _, err := e.m.CreateWebhookEndpoint(e.sudo(other), "globex", usermgmt.WebhookEndpointInput{URL: rcv.URL,
			EventTypes: usermgmt.WebhookEventTypes()})
		require.NoError(t, err)
		_, err = e.m.GrantRole(e.ctx, tenant, u.ID, usermgmt.RoleAgent)
		require.NoError(t, err)
		assert.Len(t, e.deliveries(t, ep), 2)
		assert.Equal(t, 1, e.deliverHooks(t))
	})
}

func TestWebhookDelivery(t *testing.T) {
	e := mustManager(t, allowLocal)
	rcv := webhooktest.New(t)
	ep, secret := e.hook(t, rcv.URL)
	u, _ := e.invite(t, "bob@acme.test")
	require.Equal(t, 2, e.deliverHooks(t), "user.created and user.invited")
	got := rcv.Requests()
	require.Len(t, got, 2)

	t.Run("SignedAsStandardWebhooksSays", func(t *testing.T) {
		for _, r := range got {
			assert.True(t, strings.HasPrefix(r.ID, "msg_"), r.ID)
			assert.Equal(t, strconv.FormatInt(e.clock.Now().Unix(), 10), r.Timestamp)
			assert.True(t, signedBy(secret, r.ID, r.Timestamp, r.Body, r.Signature), r.Signature)
			assert.False(t, signedBy(secret, r.ID, r.Timestamp, append(r.Body, ' '), r.Signature), "a changed body fails")
		}
		sig, err := usermgmt.SignWebhook(got[0].ID, e.clock.Now().Unix(), got[0].Body, secret)
		require.NoError(t, err)
		assert.Equal(t, got[0].Signature, sig)
	})
	t.Run("InTheOrderOfTheChanges", func(t *testing.T) {
		assert.Equal(t, usermgmt.EventUserCreated, payload(t, got[0].Body).Type)
		assert.Equal(t, usermgmt.EventInvited, payload(t, got[1].Body).Type)
	})
	t.Run("DeliveredIsListed", func(t *testing.T) {
		ds := e.deliveries(t, ep)
		require.Len(t, ds, 2)
		for _, d := range ds {
			assert.Equal(t, usermgmt.WebhookDelivered, d.Status)
			assert.Equal(t, 1, d.Attempts)
			assert.Equal(t, 204, d.LastStatusCode)
			assert.NotNil(t, d.DeliveredAt)
			assert.Nil(t, d.NextAttemptAt)
			assert.Equal(t, u.ID, d.UserID)
		}
		assert.Equal(t, usermgmt.WebhookMessageID(ds[0].MessageID), got[1].ID, "newest first")
	})
	t.Run("ResendSendsTheSameMessage", func(t *testing.T) {
		ds := e.deliveries(t, ep)
		e.clock.Advance(time.Minute)
		require.NoError(t, e.m.ResendWebhook(e.ctx, tenant, ep.ID, ds[1].MessageID))
		assert.Equal(t, 1, e.deliverHooks(t))
		again := rcv.Requests()[2]
		assert.Equal(t, got[0].ID, again.ID)
		assert.Equal(t, got[0].Body, again.Body)
		assert.NotEqual(t, got[0].Timestamp, again.Timestamp, "signed anew")
		assert.True(t, signedBy(secret, again.ID, again.Timestamp, again.Body, again.Signature))
		err := e.m.ResendWebhook(e.ctx, tenant, ep.ID, uuid.Must(uuid.NewV7()))
		assert.Equal(t, usermgmt.CodeNotFound, code(err))
	})
	t.Run("ListIsPaged", func(t *testing.T) {
		page, err := e.m.ListWebhookDeliveries(e.ctx, tenant, ep.ID, usermgmt.WebhookDeliveryQuery{Limit: 1})
		require.NoError(t, err)
		require.Len(t, page.Deliveries, 1)
		require.NotEmpty(t, page.NextCursor)
		next, err := e.m.ListWebhookDeliveries(e.ctx, tenant, ep.ID, usermgmt.WebhookDeliveryQuery{Limit: 1, Cursor: page.NextCursor})
		require.NoError(t, err)
		require.Len(t, next.Deliveries, 1)
		assert.Empty(t, next.NextCursor)
		assert.Less(t, next.Deliveries[0].MessageID.String(), page.Deliveries[0].MessageID.String())
	})
}

func TestWebhookRetries(t *testing.T) {
	e := mustManager(t, allowLocal)
	rcv := webhooktest.New(t)
	ep, _ := e.hook(t, rcv.URL, usermgmt.EventRoleGranted, usermgmt.EventRoleRevoked, usermgmt.EventDeactivated,
		usermgmt.EventSessionsRevoked)
	ann := e.seedActive(t, tenant, "ann@acme.test")
	bob := e.seedActive(t, tenant, "bob@acme.test")
	_, err := e.m.GrantRole(e.ctx, tenant, ann.ID, usermgmt.RoleAgent)
	require.NoError(t, err)
	_, err = e.m.RevokeRole(e.ctx, tenant, ann.ID, usermgmt.RoleAgent)
	require.NoError(t, err)

	rcv.Body("try later")
	rcv.Answer(503)
	t.Run("AFailureWaitsABackoff", func(t *testing.T) {
		assert.Equal(t, 0, e.deliverHooks(t), "the grant failed; the revoke waits for it")
		require.Len(t, rcv.Requests(), 1)
		ds := e.deliveries(t, ep)
		require.Len(t, ds, 2)
		failed := ds[1]
		assert.Equal(t, usermgmt.EventRoleGranted, failed.EventType)
		assert.Equal(t, usermgmt.WebhookPending, failed.Status)
		assert.Equal(t, 503, failed.LastStatusCode)
		assert.Equal(t, "try later", failed.ResponseExcerpt)
		assert.NotEmpty(t, failed.LastError)
		require.NotNil(t, failed.NextAttemptAt)
		assert.Equal(t, e.clock.Now().UTC().Add(30*time.Second), *failed.NextAttemptAt)
		got, err := e.m.GetWebhookEndpoint(e.ctx, tenant, ep.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, got.Failures)
	})
	t.Run("EachFailureDoublesIt", func(t *testing.T) {
		e.clock.Advance(30 * time.Second)
		rcv.Answer(500)
		assert.Equal(t, 0, e.deliverHooks(t))
		ds := e.deliveries(t, ep)
		assert.Equal(t, 2, ds[1].Attempts, "the grant")
		require.NotNil(t, ds[1].NextAttemptAt)
		assert.Equal(t, e.clock.Now().UTC().Add(time.Minute), *ds[1].NextAttemptAt)
	})
	t.Run("TheEndpointRestsAsLong", func(t *testing.T) {
		_, err := e.m.Deactivate(e.ctx, tenant, bob.ID)
		require.NoError(t, err)
		assert.Equal(t, 0, e.deliverHooks(t), "bob's message is due, but the endpoint rests")
		assert.Len(t, rcv.Requests(), 2)
	})
	t.Run("EachUsersMessagesGoInOrder", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		assert.Equal(t, 4, e.deliverHooks(t))
		var order []string
		for _, r := range rcv.Requests() {
			p := payload(t, r.Body)
			order = append(order, string(p.Type)+" "+p.Data.User.Email)
		}
		assert.Equal(t, []string{"role.granted ann@acme.test", "role.granted ann@acme.test",
			"user.deactivated bob@acme.test", "sessions.revoked bob@acme.test",
			"role.granted ann@acme.test", "role.revoked ann@acme.test"}, order)
		got, err := e.m.GetWebhookEndpoint(e.ctx, tenant, ep.ID)
		require.NoError(t, err)
		assert.Equal(t, 0, got.Failures, "a success ends the run")
	})
}

func TestWebhookGivesUpAndDisables(t *testing.T) {
	e := mustManager(t, allowLocal, func(o *usermgmt.Options) {
		o.WebhookMaxAttempts, o.WebhookDisableAfter = 2, 3
	})
	rcv := webhooktest.New(t)
	ep, _ := e.hook(t, rcv.URL, usermgmt.EventDeactivated)
	second := e.seedActive(t, tenant, "second-admin@acme.test", usermgmt.RoleTenantAdmin)
	ann := e.seedActive(t, tenant, "ann@acme.test")
	bob := e.seedActive(t, tenant, "bob@acme.test")
	for _, u := range []usermgmt.User{ann, bob} {
		_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
	}
	rcv.Answer(500, 500, 500)
	for range 3 {
		e.deliverHooks(t)
		e.clock.Advance(time.Hour)
	}
	require.Len(t, rcv.Requests(), 3)
	ds := e.deliveries(t, ep)
	t.Run("AfterTheLastAttemptADeliveryFails", func(t *testing.T) {
		assert.Equal(t, usermgmt.WebhookFailed, ds[1].Status, "ann's, tried twice")
		assert.Equal(t, 2, ds[1].Attempts)
		assert.Nil(t, ds[1].NextAttemptAt)
		assert.Equal(t, usermgmt.WebhookPending, ds[0].Status, "bob's, tried once")
	})
	t.Run("ARunOfFailuresDisablesTheEndpoint", func(t *testing.T) {
		got, err := e.m.GetWebhookEndpoint(e.ctx, tenant, ep.ID)
		require.NoError(t, err)
		require.NotNil(t, got.DisabledAt)
		assert.Equal(t, 3, got.Failures)
		assert.NotEmpty(t, got.DisabledReason)
		assert.Equal(t, 0, e.deliverHooks(t), "nothing goes to a disabled endpoint")
		_, err = e.m.Activate(e.ctx, tenant, bob.ID)
		require.NoError(t, err)
		_, err = e.m.Deactivate(e.ctx, tenant, bob.ID)
		require.NoError(t, err)
		assert.Len(t, e.deliveries(t, ep), 2, "nor is anything queued for it")
	})
	t.Run("TheAdminsAreMailed", func(t *testing.T) {
		require.NoError(t, e.m.Close())
		for _, a := range []usermgmt.User{e.admin, second} {
			msg, ok := e.mail.LastTo(a.Email)
			require.True(t, ok, a.Email)
			assert.Equal(t, usermgmt.MessageWebhookDisabled, msg.Kind)
			assert.Contains(t, msg.Text, rcv.URL)
		}
		msg, _ := e.mail.LastTo(e.admin.Email)
		golden(t, "webhook_disabled.system", strings.ReplaceAll(renderForGolden(msg), rcv.URL, "http://127.0.0.1:PORT/hooks"))
		_, ok := e.mail.LastTo(ann.Email)
		assert.False(t, ok)
	})
	t.Run("EnableSendsWhatWaits", func(t *testing.T) {
		got, err := e.m.EnableWebhookEndpoint(e.ctx, tenant, ep.ID)
		require.NoError(t, err)
		assert.Nil(t, got.DisabledAt)
		assert.Equal(t, 0, got.Failures)
		assert.Equal(t, 1, e.deliverHooks(t), "bob's first deactivation")
	})
}

func TestWebhookRotation(t *testing.T) {
	e := mustManager(t, allowLocal)
	rcv := webhooktest.New(t)
	ep, old := e.hook(t, rcv.URL, usermgmt.EventDeactivated, usermgmt.EventActivated)
	u := e.seedActive(t, tenant, "ann@acme.test")
	fresh, err := e.m.RotateWebhookSecret(e.sudo(e.admin), tenant, ep.ID)
	require.NoError(t, err)
	require.NotEqual(t, old, fresh)
	got, err := e.m.GetWebhookEndpoint(e.ctx, tenant, ep.ID)
	require.NoError(t, err)
	require.NotNil(t, got.PreviousSecretUntil)
	assert.Equal(t, e.clock.Now().UTC().Add(24*time.Hour), *got.PreviousSecretUntil)

	_, err = e.m.Deactivate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	e.deliverHooks(t)
	r := rcv.Requests()[0]
	t.Run("BothSignDuringTheGrace", func(t *testing.T) {
		assert.Len(t, strings.Fields(r.Signature), 2)
		assert.True(t, signedBy(fresh, r.ID, r.Timestamp, r.Body, r.Signature))
		assert.True(t, signedBy(old, r.ID, r.Timestamp, r.Body, r.Signature))
	})
	t.Run("OnlyTheNewAfterIt", func(t *testing.T) {
		e.clock.Advance(24 * time.Hour)
		_, err = e.m.Activate(e.ctx, tenant, u.ID)
		require.NoError(t, err)
		e.deliverHooks(t)
		r := rcv.Requests()[1]
		assert.Len(t, strings.Fields(r.Signature), 1)
		assert.True(t, signedBy(fresh, r.ID, r.Timestamp, r.Body, r.Signature))
		assert.False(t, signedBy(old, r.ID, r.Timestamp, r.Body, r.Signature))
	})
}

func TestWebhookSafety(t *testing.T) {
	e := mustManager(t, func(o *usermgmt.Options) { o.WebhookAllowHTTP, o.WebhookTimeout = true, 5*time.Second })
	rcv := webhooktest.New(t) // on 127.0.0.1
	u := e.seedActive(t, tenant, "ann@acme.test")
	port := rcv.URL[strings.LastIndex(rcv.URL, ":"):]
	targets := []string{
		rcv.URL,
		"http://localhost" + port + "/hooks", // a name that resolves to loopback
		"http://10.1.2.3/hooks",
		"http://192.168.1.1/hooks",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.64.0.1/hooks",
		"http://0.0.0.0" + port + "/hooks",
		"http://[::1]" + port + "/hooks",
		"http://[::ffff:127.0.0.1]" + port + "/hooks",
		"http://[::ffff:10.0.0.1]/hooks",
		"http://[fd00:ec2::254]/hooks",
		"http://[fe80::1]/hooks",
		"http://224.0.0.1/hooks",
	}
	var eps []usermgmt.WebhookEndpoint
	for _, url := range targets {
		ep, _ := e.hook(t, url, usermgmt.EventDeactivated)
		eps = append(eps, ep)
	}
	_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, e.deliverHooks(t))
	assert.Empty(t, rcv.Requests(), "nothing reached the local receiver")
	for i, ep := range eps {
		ds := e.deliveries(t, ep)
		require.Len(t, ds, 1, targets[i])
		assert.Equal(t, 0, ds[0].LastStatusCode, targets[i])
		assert.True(t, strings.HasPrefix(ds[0].LastError, "dial tcp") && strings.Contains(ds[0].LastError, "blocked address"),
			"%s: %s", targets[i], ds[0].LastError)
	}
}

func TestWebhookRedirectIsNotFollowed(t *testing.T) {
	e := mustManager(t, allowLocal)
	rcv := webhooktest.New(t)
	redirect := httptest.NewServer(http.RedirectHandler(rcv.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	ep, _ := e.hook(t, redirect.URL, usermgmt.EventDeactivated)
	u := e.seedActive(t, tenant, "ann@acme.test")
	_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, e.deliverHooks(t))
	assert.Empty(t, rcv.Requests(), "the redirect's target got nothing")
	ds := e.deliveries(t, ep)
	assert.Equal(t, http.StatusTemporaryRedirect, ds[0].LastStatusCode)
	assert.Equal(t, usermgmt.WebhookPending, ds[0].Status, "a failed attempt")
}

func TestWebhookErasure(t *testing.T) {
	e := mustManager(t, allowLocal)
	rcv := webhooktest.New(t)
	ep, _ := e.hook(t, rcv.URL)
	u := e.seedActive(t, tenant, "ann@acme.test", usermgmt.RoleAgent)
	_, err := e.m.RevokeRole(e.ctx, tenant, u.ID, usermgmt.RoleAgent)
	require.NoError(t, err)
	require.NoError(t, e.m.EraseUser(e.sudo(e.admin), tenant, u.ID))
	ds := e.deliveries(t, ep)
	require.Len(t, ds, 1, "the user's queued messages went with the erasure")
	assert.Equal(t, usermgmt.EventErased, ds[0].EventType)
	e.deliverHooks(t)
	p := payload(t, rcv.Requests()[0].Body)
	assert.Equal(t, usermgmt.ErasedEmail(u.ID), p.Data.User.Email, "the message holds no personal data")
	assert.Equal(t, usermgmt.StatusDeactivated, p.Data.User.Status)
}

// queueSpy counts the QueueWebhooks statements of the Manager's
// transactions.
type queueSpy struct {
	usermgmt.Store
	calls, messages int
}

func (s *queueSpy) RunInTx(ctx context.Context, opts usermgmt.TxOptions, fn func(context.Context, usermgmt.Tx) error) error {
	return s.Store.RunInTx(ctx, opts, func(ctx context.Context, tx usermgmt.Tx) error {
		return fn(ctx, queueSpyTx{tx, s})
	})
}

type queueSpyTx struct {
	usermgmt.Tx
	s *queueSpy
}

func (t queueSpyTx) QueueWebhooks(ctx context.Context, ms []usermgmt.WebhookMessage) (int, error) {
	t.s.calls++
	t.s.messages += len(ms)
	return t.Tx.QueueWebhooks(ctx, ms)
}

func TestWebhooksOfAGroupChangeAreOneStatement(t *testing.T) {
	e := mustManager(t, allowLocal)
	spy := &queueSpy{Store: e.store}
	m, err := usermgmt.New(spy, usermgmt.Options{Mailer: e.mail, Clock: e.clock.Now, SecretKey: testKey,
		Links: usermgmt.Links{BaseURL: "https://app.example.com"}, WebhookAllowHTTP: true, WebhookAllowPrivate: true})
	require.NoError(t, err)
	rcv := webhooktest.New(t)
	ep, _ := e.hook(t, rcv.URL, usermgmt.EventGroupJoined)
	var ids []uuid.UUID
	for i := range 30 {
		ids = append(ids, e.seedActive(t, tenant, "m"+strconv.Itoa(i)+"@acme.test").ID)
	}
	_, err = m.CreateGroup(e.ctx, tenant, usermgmt.NewGroup{DisplayName: "Support", Members: ids})
	require.NoError(t, err)
	assert.Equal(t, 1, spy.calls)
	assert.Equal(t, 30, spy.messages)
	assert.Len(t, e.deliveries(t, ep), 30)
	e.deliverHooks(t)
	p := payload(t, rcv.Requests()[0].Body)
	assert.Equal(t, "Support", p.Data.Detail)
	assert.NotEmpty(t, p.Data.User.Email, "the members are read for the snapshot")

	t.Run("OneStatementATransaction", func(t *testing.T) {
		calls := spy.calls
		_, err := m.Deactivate(e.ctx, tenant, ids[1]) // user.deactivated and sessions.revoked
		require.NoError(t, err)
		assert.Equal(t, calls+1, spy.calls)
	})
	t.Run("OtherEventsQueueNothing", func(t *testing.T) {
		calls := spy.calls
		_, err := m.UnlockUser(e.ctx, tenant, ids[0])
		require.NoError(t, err)
		assert.Equal(t, calls, spy.calls)
	})
}

func TestWebhooksArePruned(t *testing.T) {
	e := mustManager(t, allowLocal)
	rcv := webhooktest.New(t)
	e.hook(t, rcv.URL, usermgmt.EventDeactivated)
	u := e.seedActive(t, tenant, "ann@acme.test")
	_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	e.deliverHooks(t)
	p, err := e.m.PruneExpired(system)
	require.NoError(t, err)
	assert.Zero(t, p.WebhookDeliveries)
	e.clock.Advance(7 * 24 * time.Hour)
	p, err = e.m.PruneExpired(system)
	require.NoError(t, err)
	assert.Equal(t, 1, p.WebhookDeliveries)
	assert.Equal(t, 1, p.WebhookMessages)
}

func TestRunDeliversWebhooksAsChangesCommit(t *testing.T) {
	// The poll is an hour away: only the commit's kick can wake the worker.
	e := mustManager(t, allowLocal, func(o *usermgmt.Options) { o.MailPollInterval = time.Hour })
	rcv := webhooktest.New(t)
	e.hook(t, rcv.URL, usermgmt.EventDeactivated, usermgmt.EventActivated)
	u := e.seedActive(t, tenant, "ann@acme.test")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.m.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})
	_, err := e.m.Deactivate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rcv.Requests()) == 1 }, 10*time.Second, 10*time.Millisecond)
	// The worker's first pass is over now: it sleeps until a kick.
	_, err = e.m.Activate(e.ctx, tenant, u.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rcv.Requests()) == 2 }, 10*time.Second, 10*time.Millisecond)
}

func TestWebhookOptionsAreChecked(t *testing.T) {
	for name, c := range map[string]func(*usermgmt.Options){
		"NegativeTimeout":         func(o *usermgmt.Options) { o.WebhookTimeout = -time.Second },
		"NegativeGrace":           func(o *usermgmt.Options) { o.WebhookSecretGrace = -time.Hour },
		"NegativeMaxAttempts":     func(o *usermgmt.Options) { o.WebhookMaxAttempts = -1 },
		"NegativeDisableAfter":    func(o *usermgmt.Options) { o.WebhookDisableAfter = -1 },
		"RetryMaxBelowRetryDelay": func(o *usermgmt.Options) { o.WebhookRetryDelay, o.WebhookRetryMax = time.Hour, time.Minute },
	} {
		t.Run(name, func(t *testing.T) {
			o := usermgmt.Options{Mailer: mailertest.New(), SecretKey: testKey, Links: usermgmt.Links{BaseURL: "https://app.example.com"}}
			c(&o)
			_, err := usermgmt.New(memory.New(), o)
			require.Equal(t, usermgmt.CodeInvalid, code(err))
			require.Contains(t, err.Error(), "Webhook")
		})
	}
}
