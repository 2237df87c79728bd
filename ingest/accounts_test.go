package ingest_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/migrations"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Two accounts archiving the same region into one database each get their
// own target, keyed by the account STS says the credentials belong to, so
// one account's complete walk never expires the other's sends.
func TestTwoAccountsSameRegionDoNotExpireEachOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	simA, err := cloudsim.New(cloudsim.Config{Seed: 101, AccessKeyID: "key-account-a", SendsPerDay: 40})
	if err != nil {
		t.Fatal(err)
	}
	simB, err := cloudsim.New(cloudsim.Config{Seed: 202, AccessKeyID: "key-account-b", SendsPerDay: 40})
	if err != nil {
		t.Fatal(err)
	}
	if simA.Config().AccountID == simB.Config().AccountID {
		t.Fatal("the two simulated accounts share an id")
	}
	cloud, err := harness.Serve(simA, simB) // one endpoint, routed by signing key
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	st := storetest.New(t)
	runA, err := cloud.Runner(simA, st)
	if err != nil {
		t.Fatal(err)
	}
	runB, err := cloud.Runner(simB, st)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		simA.Advance(12 * time.Hour)
		simB.Advance(12 * time.Hour)
		for _, r := range []*ingest.Runner{runA, runB} {
			if _, err := r.Once(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	targets, err := st.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	accounts := map[string]bool{}
	for _, tg := range targets {
		accounts[tg.Account] = true
	}
	if len(targets) != 2 || !accounts[simA.Config().AccountID] || !accounts[simB.Config().AccountID] {
		t.Fatalf("targets %+v, want one per account (%s, %s)", targets, simA.Config().AccountID, simB.Config().AccountID)
	}
	var expired int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.events WHERE type = $1`,
		model.EventSourceExpired).Scan(&expired); err != nil {
		t.Fatal(err)
	}
	if expired != 0 {
		t.Fatalf("%d sends recorded as expired, but every send is still listed by its own account", expired)
	}
	for _, sim := range []*cloudsim.Sim{simA, simB} {
		var n int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM archive.sends WHERE account = $1`,
			sim.Config().AccountID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(sim.Sends()) || n == 0 {
			t.Fatalf("account %s: archive holds %d sends, the account created %d", sim.Config().AccountID, n, len(sim.Sends()))
		}
	}
}

// With no credentials anywhere in the standard chain, a cycle fails at once,
// before any API call, with a sentence naming the ways to provide them.
func TestNoCredentialsFailsAtOnce(t *testing.T) {
	home := t.TempDir()
	for k, v := range map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID": "", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "", "ALIBABA_CLOUD_SECURITY_TOKEN": "",
		"ALIBABA_CLOUD_PROFILE": "", "ALIBABA_CLOUD_CREDENTIALS_FILE": "", "ALIBABA_CLOUD_ROLE_ARN": "",
		"ALIBABA_CLOUD_OIDC_TOKEN_FILE": "", "ALIBABA_CLOUD_CREDENTIALS_URI": "", "ALIBABA_CLOUD_ECS_METADATA": "",
		// The instance metadata service is not ours to call from a test.
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true", "HOME": home,
	} {
		t.Setenv(k, v)
	}
	w := newWorld(t, cloudsim.Config{Seed: 3})
	w.sim.Advance(24 * time.Hour)
	w.runner.API = source.Options{Endpoint: w.cloud.URL} // the standard chain, empty
	results, err := w.runner.Once(context.Background())
	if !errors.Is(err, source.ErrNoCredentials) {
		t.Fatalf("want ErrNoCredentials, got %v", err)
	}
	for _, want := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "profile", "RAM role"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %s: %v", want, err)
		}
	}
	if n := w.sim.Stats().Requests; n != 0 {
		t.Errorf("%d API requests made without credentials, want none", n)
	}
	if len(results) != 1 || results[0].Outcome() != model.RunFailed {
		t.Errorf("results %+v, want one failed target", results)
	}
}

// With contents kept as hashes only, no file body reaches the database;
// the hashes stay in the events and projections.
func TestHashOnlyContents(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Config{Seed: 4})
	w.runner.HashOnlyContents = true
	w.poll(t, 2*24*time.Hour, 12*time.Hour)
	ctx := context.Background()
	var bodies, hashed int
	if err := w.store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM archive.contents),
		(SELECT count(*) FROM archive.invocations WHERE content_sha256 <> '')`).Scan(&bodies, &hashed); err != nil {
		t.Fatal(err)
	}
	if bodies != 0 || hashed == 0 {
		t.Fatalf("%d bodies stored, %d sends with a hash; want none and some", bodies, hashed)
	}
}

// An archive made before the status intervals existed gets them when it is
// migrated: `migrate up` folds them from its events, equal to the ones kept
// up incrementally.
func TestIntervalsBackfilledOnUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, cloudsim.Config{Seed: 5, SendsPerDay: 40})
	w.poll(t, 3*24*time.Hour, 12*time.Hour)
	intervals := func() []string {
		rows, err := w.store.Pool().Query(ctx, `SELECT to_jsonb(v)::text FROM archive.instance_intervals v
			UNION ALL SELECT to_jsonb(s)::text FROM archive.send_intervals s ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := intervals()
	if len(before) == 0 {
		t.Fatal("no intervals kept while ingesting")
	}
	db := stdlib.OpenDBFromPool(w.store.Pool())
	defer db.Close()
	p, err := migrations.NewProvider(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	res, err := w.store.MigrateUp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last := res[len(res)-1].Path; !strings.Contains(last, "rebuilt the projections") {
		t.Fatalf("migrate up did not rebuild: %+v", res)
	}
	if after := intervals(); !reflect.DeepEqual(before, after) {
		t.Fatalf("backfilled intervals (%d rows) differ from the incremental ones (%d rows)", len(after), len(before))
	}
}
