package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// fakeSource is a Source made of functions, for cycle tests that need exact
// control over what the API answers.
type fakeSource struct {
	list   func(token string) (source.Page, error)
	lookup func(id string) (source.Page, error)
}

func (f *fakeSource) ListPage(_ context.Context, token string) (source.Page, source.Stats, error) {
	p, err := f.list(token)
	return p, source.Stats{Calls: 1}, err
}
func (f *fakeSource) ListStatus(context.Context, model.Status, string) (source.Page, source.Stats, error) {
	return source.Page{}, source.Stats{Calls: 1}, nil
}
func (f *fakeSource) Lookup(_ context.Context, id string) (source.Page, source.Stats, error) {
	if f.lookup == nil {
		return source.Page{}, source.Stats{Calls: 1}, nil
	}
	p, err := f.lookup(id)
	return p, source.Stats{Calls: 1}, err
}

// body renders a response with the given invocations (JSON snippets).
func body(next string, invocations ...string) []byte {
	return []byte(fmt.Sprintf(`{"RequestId":"r","NextToken":%q,"Invocations":{"Invocation":[%s]}}`,
		next, strings.Join(invocations, ",")))
}

func invocation(id, status string, instances ...string) string {
	return fmt.Sprintf(`{"InvokeId":%q,"Name":"a.conf","Content":"x","ContentType":"PlainText","TargetDir":"/etc",
		"FileOwner":"root","FileGroup":"root","FileMode":"0644","Overwrite":"true","VmCount":%d,
		"CreationTime":"2026-01-05T00:00:00Z","InvocationStatus":%q,"Tags":{"Tag":[]},
		"InvokeInstances":{"InvokeInstance":[%s]}}`, id, len(instances), status, strings.Join(instances, ","))
}

func instance(id, status string) string {
	start, finish := `"2026-01-05T00:00:10Z"`, `"2026-01-05T00:01:00Z"`
	if status == "Pending" {
		start, finish = `""`, `""`
	}
	return fmt.Sprintf(`{"InstanceId":%q,"InvocationStatus":%q,"CreationTime":"2026-01-05T00:00:00Z",
		"StartTime":%s,"FinishTime":%s,"UpdateTime":"2026-01-05T00:01:00Z","ErrorCode":"","ErrorInfo":""}`,
		id, status, start, finish)
}

func mustPage(t *testing.T, b []byte) source.Page {
	t.Helper()
	p, err := source.ParsePage(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newCycle(t *testing.T, st *store.Store, src ingest.Source) *ingest.Cycle {
	t.Helper()
	target, _, err := st.EnsureTarget(context.Background(), "", "cn-test", model.SourceSendFileResults)
	if err != nil {
		t.Fatal(err)
	}
	return &ingest.Cycle{Store: st, Target: target, Source: src,
		Clock: func() time.Time { return time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC) }}
}

func countEvents(t *testing.T, st *store.Store, invokeID string) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM archive.events WHERE invoke_id = $1`, invokeID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A malformed page fails the cycle with a clear error and commits nothing of
// itself; the pages before it stay committed.
func TestMalformedPageCommitsNothing(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	src := &fakeSource{list: func(token string) (source.Page, error) {
		if token == "" {
			return mustPage(t, body("p2", invocation("f-1", "Success", instance("i-1", "Success")))), nil
		}
		_, err := source.ParsePage([]byte(`{"Invocations":{"Invocation":[{"InvokeId":"f-2","InvokeInstances":{"InvokeInstance":[{"InvocationStatus":"Success"}]}}]}}`))
		return source.Page{}, err
	}}
	run, err := newCycle(t, st, src).Run(context.Background())
	if !errors.Is(err, source.ErrMalformed) || !strings.Contains(err.Error(), "page 2") {
		t.Fatalf("want a malformed-page error naming page 2, got %v", err)
	}
	if run.Outcome != "failed" || run.CompleteWalk || !strings.Contains(run.Error, "InstanceId") {
		t.Fatalf("run not recorded as failed with the reason: %+v", run)
	}
	if countEvents(t, st, "f-1") == 0 {
		t.Fatal("page 1 was not committed")
	}
	if n := countEvents(t, st, "f-2"); n != 0 {
		t.Fatalf("the malformed page committed %d events", n)
	}
}

// An API that hands back the same NextToken forever is caught, not followed:
// the walk restarts a bounded number of times, then the cycle gives up and
// says why.
func TestRepeatedTokenStopsTheWalk(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	calls := 0
	src := &fakeSource{list: func(token string) (source.Page, error) {
		calls++
		return mustPage(t, body("same", invocation("f-1", "Success", instance("i-1", "Success")))), nil
	}}
	_, err := newCycle(t, st, src).Run(context.Background())
	if !errors.Is(err, ingest.ErrTokenLoop) {
		t.Fatalf("want ErrTokenLoop, got %v", err)
	}
	// Each walk makes two calls before it sees the token again; three restarts.
	if calls != 8 || !strings.Contains(err.Error(), "after 3 restarts") {
		t.Fatalf("%d calls, error %v", calls, err)
	}
}

// A rejected NextToken restarts the walk; nothing is archived twice.
func TestRejectedTokenRestartsTheWalk(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	rejected := false
	src := &fakeSource{list: func(token string) (source.Page, error) {
		switch token {
		case "":
			return mustPage(t, body("t2", invocation("f-1", "Success", instance("i-1", "Success")))), nil
		case "t2":
			if !rejected {
				rejected = true
				return source.Page{}, fmt.Errorf("%w: InvalidParameter.NextToken", source.ErrBadToken)
			}
			return mustPage(t, body("", invocation("f-2", "Success", instance("i-2", "Success")))), nil
		}
		t.Fatalf("unexpected token %q", token)
		return source.Page{}, nil
	}}
	run, err := newCycle(t, st, src).Run(context.Background())
	if err != nil || !run.CompleteWalk {
		t.Fatalf("walk did not recover: %v %+v", err, run)
	}
	// discovered + instance discovered + Pending + Running + Success + reported Success
	if a, b := countEvents(t, st, "f-1"), countEvents(t, st, "f-2"); a != 6 || b != 6 {
		t.Fatalf("events per send: f-1 %d, f-2 %d; want 6 each", a, b)
	}
}

// A send missing from a complete walk is looked up before being recorded as
// expired: a send that is still there is not expired.
func TestExpiryIsConfirmedByLookup(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	listed := true
	stillThere := true
	src := &fakeSource{
		list: func(string) (source.Page, error) {
			if listed {
				return mustPage(t, body("", invocation("f-1", "Running", instance("i-1", "Running")))), nil
			}
			return mustPage(t, body("")), nil
		},
		lookup: func(id string) (source.Page, error) {
			if stillThere {
				return mustPage(t, body("", invocation(id, "Success", instance("i-1", "Success")))), nil
			}
			return mustPage(t, body("")), nil
		},
	}
	c := newCycle(t, st, src)
	ctx := context.Background()
	if _, err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	listed = false
	run, err := c.Run(ctx)
	if err != nil || run.Expired != 0 {
		t.Fatalf("send found by lookup was expired: %v %+v", err, run)
	}
	s, err := (&query.Querier{Store: st}).Status(ctx, "f-1", time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC), nil)
	if err != nil || s.Status != "Success" {
		t.Fatalf("looked-up send not diffed: %+v %v", s, err)
	}
	stillThere = false
	run, err = c.Run(ctx)
	if err != nil || run.Expired != 1 {
		t.Fatalf("want one expiry, got %v %+v", err, run)
	}
	var typ string
	if err := st.Pool().QueryRow(ctx, `SELECT type FROM archive.events WHERE invoke_id = 'f-1' ORDER BY seq DESC LIMIT 1`).Scan(&typ); err != nil || typ != "invocation_source_expired" {
		t.Fatalf("last event %q, %v", typ, err)
	}
	run, err = c.Run(ctx)
	if err != nil || run.Expired != 0 {
		t.Fatalf("expired twice: %v %+v", err, run)
	}
}

// An undocumented status is kept verbatim and makes the aggregate Unknown.
func TestUnknownStatusKeptVerbatim(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	src := &fakeSource{list: func(string) (source.Page, error) {
		return mustPage(t, body("", invocation("f-1", "Running", instance("i-1", "Success"), instance("i-2", " Stopping")))), nil
	}}
	if _, err := newCycle(t, st, src).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, err := (&query.Querier{Store: st}).Status(context.Background(), "f-1", time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != "Unknown" || len(s.Instances) != 2 || s.Instances[1].Status != "Stopping" {
		t.Fatalf("got %+v", s)
	}
	var raw string
	if err := st.Pool().QueryRow(context.Background(), `SELECT payload->>'InvocationStatus' FROM archive.events
		WHERE instance_id = 'i-2' AND type = 'instance_discovered'`).Scan(&raw); err != nil || raw != " Stopping" {
		t.Fatalf("verbatim status %q, %v", raw, err)
	}
}

// Only one archiver works a target at a time; the other is told so.
func TestLeaseHeldSkipsTarget(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	src := &fakeSource{list: func(string) (source.Page, error) { return mustPage(t, body("")), nil }}
	c := newCycle(t, st, src)
	lease, ok, err := st.TryLease(context.Background(), c.Target.ID)
	if err != nil || !ok {
		t.Fatalf("take lease: %v %v", ok, err)
	}
	defer lease.Release(context.Background())
	if _, err := c.Run(context.Background()); !errors.Is(err, ingest.ErrLeaseHeld) {
		t.Fatalf("want ErrLeaseHeld, got %v", err)
	}
}

// A wrong secret is a credentials problem, reported as such, without retries
// and without the secret in the message.
func TestWrongSecretIsACredentialsError(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 3})
	w.sim.Advance(48 * time.Hour)
	const secret = "definitely-not-the-secret"
	cred := staticCredential(t, w.sim.Config().AccessKeyID, secret)
	src, err := source.NewClient("cn-hangzhou", source.Options{Endpoint: w.cloud.URL, Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	_, st, err := src.ListPage(context.Background(), "")
	if !errors.Is(err, source.ErrCredentials) {
		t.Fatalf("want ErrCredentials, got %v", err)
	}
	if st.Calls != 1 {
		t.Fatalf("credentials error retried: %d calls", st.Calls)
	}
	msg := err.Error()
	if !strings.Contains(msg, "SignatureDoesNotMatch") || !strings.Contains(msg, "ALIBABA_CLOUD_ACCESS_KEY_SECRET") || strings.Contains(msg, secret) {
		t.Fatalf("message should name the code and what to check, never the secret: %s", msg)
	}
	cred = staticCredential(t, "unknown-key", secret)
	src, _ = source.NewClient("cn-hangzhou", source.Options{Endpoint: w.cloud.URL, Credential: cred})
	if _, _, err := src.ListPage(context.Background(), ""); !errors.Is(err, source.ErrCredentials) || !strings.Contains(err.Error(), "InvalidAccessKeyId.NotFound") {
		t.Fatalf("unknown key: %v", err)
	}
}

// Throttling and 5xx are retried until the page comes through.
func TestThrottlingAndServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 4, Faults: cloudsim.Faults{ThrottleRate: 0.25, ServerErrorRate: 0.15}})
	w.poll(t, 3*week, 24*time.Hour)
	runs, err := w.store.Runs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	retries := 0
	for _, r := range runs {
		retries += r.Retries
	}
	stats := w.sim.Stats()
	if retries == 0 || stats.Throttled == 0 || stats.ServerErrors == 0 {
		t.Fatalf("faults not exercised: %d retries, sim stats %+v", retries, stats)
	}
	if got, want := int64(retries), stats.Throttled+stats.ServerErrors; got != want {
		t.Fatalf("recorded %d retries, the simulator injected %d faults", got, want)
	}
	checkAllArchived(t, w)
}

func checkAllArchived(t *testing.T, w *world) {
	t.Helper()
	var n int
	if err := w.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM archive.invocations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := len(w.sim.Sends()); n != want {
		t.Fatalf("archived %d sends, want %d", n, want)
	}
}

// A page that lists the same send twice archives it once.
func TestDuplicateOnOnePageArchivedOnce(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	inv := invocation("f-1", "Success", instance("i-1", "Success"))
	src := &fakeSource{list: func(string) (source.Page, error) { return mustPage(t, body("", inv, inv)), nil }}
	if _, err := newCycle(t, st, src).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, st, "f-1"); n != 6 {
		t.Fatalf("%d events, want 6", n)
	}
}

// A 1 MB file body and a send to 10,000 instances are archived whole, once,
// and counted as oversized.
func TestOversizedRecords(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	instances := make([]string, 10_000)
	for i := range instances {
		instances[i] = instance(fmt.Sprintf("i-%05d", i), "Success")
	}
	big := strings.Replace(invocation("f-big", "Success", instances...), `"Content":"x"`,
		`"Content":"`+strings.Repeat("A", 1<<20)+`"`, 1)
	small := invocation("f-small", "Success", instance("i-1", "Success"))
	src := &fakeSource{list: func(string) (source.Page, error) { return mustPage(t, body("", big, small)), nil }}
	c := newCycle(t, st, src)
	run, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if run.Oversized != 1 {
		t.Fatalf("oversized = %d, want 1", run.Oversized)
	}
	// discovered + reported + 4 per instance (discovered, Pending, Running, Success)
	if n := countEvents(t, st, "f-big"); n != 2+4*10_000 {
		t.Fatalf("%d events for the big send", n)
	}
	var bytes int
	if err := st.Pool().QueryRow(context.Background(), `SELECT c.bytes FROM archive.contents c
		JOIN archive.invocations i ON i.content_sha256 = c.sha256 WHERE i.invoke_id = 'f-big'`).Scan(&bytes); err != nil || bytes != 1<<20 {
		t.Fatalf("content stored with %d bytes, %v", bytes, err)
	}
	if run, err := c.Run(context.Background()); err != nil || run.Events != 0 {
		t.Fatalf("second cycle: %v, %d events", err, run.Events)
	}
}
