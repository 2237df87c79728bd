package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

func listTargetsAll(t *testing.T) []targetJSON {
	t.Helper()
	code, out, errOut := archiver(t, "targets", "--format", "json")
	if code != 0 {
		t.Fatalf("targets: %d %q", code, errOut)
	}
	var list []targetJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("targets --format json: %v %q", err, out)
	}
	return list
}

// listTargets is listTargetsAll by region.
func listTargets(t *testing.T) map[string]targetJSON {
	t.Helper()
	m := map[string]targetJSON{}
	for _, tg := range listTargetsAll(t) {
		m[tg.Region] = tg
	}
	return m
}

// An operator sees the targets, cannot delete one with events (only retire
// it, after which it is not walked and its events stay), and can remove a
// mistyped region that never archived anything.
func TestTargetsListRetireRemove(t *testing.T) {
	ctx := context.Background()
	sim, srv := simulatedCloud(t, 37)
	url := storetest.URL(t)
	t.Setenv("DATABASE_URL", url)
	sim.Advance(2 * 24 * time.Hour)
	code, _, errOut := archiver(t, "ingest", "--once", "--regions", "cn-hangzhou,cn-hangzhuo", "--endpoint", srv.URL)
	if code != exitFailure {
		t.Fatalf("ingest with a mistyped region: exit %d, want 1 (%q)", code, errOut)
	}
	targets := listTargets(t)
	good, typo := targets["cn-hangzhou"], targets["cn-hangzhuo"]
	if len(targets) != 2 || good.Events == 0 || good.LastSuccess == nil || typo.Events != 0 || typo.LastSuccess != nil ||
		good.Account == "" || good.RetiredAt != nil {
		t.Fatalf("targets: %+v", targets)
	}
	acct := []string{"--account", good.Account}

	code, _, errOut = archiver(t, append([]string{"targets", "remove", "--region", "cn-hangzhou"}, acct...)...)
	if code != exitFailure || !strings.Contains(errOut, "never deleted") || !strings.Contains(errOut, "retire") {
		t.Fatalf("removing a target with events: exit %d %q", code, errOut)
	}
	if code, out, errOut := archiver(t, append([]string{"targets", "retire", "--region", "cn-hangzhou"}, acct...)...); code != 0 ||
		!strings.Contains(out, "retired") {
		t.Fatalf("retire: %d %q %q", code, out, errOut)
	}
	sim.Advance(24 * time.Hour)
	code, out, errOut := archiver(t, "ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", srv.URL)
	if code != 0 || !strings.Contains(out, "skipped (retired)") {
		t.Fatalf("ingest of a retired target: %d %q %q", code, out, errOut)
	}
	after := listTargets(t)["cn-hangzhou"]
	if after.Events != good.Events || after.Runs != good.Runs || after.RetiredAt == nil {
		t.Fatalf("a retired target was walked or lost events: before %+v, after %+v", good, after)
	}
	if code, _, errOut := archiver(t, append([]string{"targets", "unretire", "--region", "cn-hangzhou"}, acct...)...); code != 0 {
		t.Fatalf("unretire: %d %q", code, errOut)
	}
	if code, _, errOut := archiver(t, "ingest", "--once", "--regions", "cn-hangzhou", "--endpoint", srv.URL); code != 0 {
		t.Fatalf("ingest after unretire: %d %q", code, errOut)
	}
	if again := listTargets(t)["cn-hangzhou"]; again.Events <= good.Events || again.RetiredAt != nil {
		t.Fatalf("an unretired target was not walked: %+v", again)
	}

	if code, out, errOut := archiver(t, append([]string{"targets", "remove", "--region", "cn-hangzhuo"}, acct...)...); code != 0 ||
		!strings.Contains(out, "removed") {
		t.Fatalf("remove the mistyped region: %d %q %q", code, out, errOut)
	}
	if _, ok := listTargets(t)["cn-hangzhuo"]; ok {
		t.Fatal("the removed target is still listed")
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var runs int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM archive.ingest_runs r
		WHERE NOT EXISTS (SELECT 1 FROM archive.targets t WHERE t.id = r.target_id)`).Scan(&runs); err != nil || runs != 0 {
		t.Fatalf("%d runs of removed targets remain (%v)", runs, err)
	}
	code, _, errOut = archiver(t, "targets", "remove", "--region", "cn-nowhere")
	if code != exitNotFound {
		t.Fatalf("removing a target that does not exist: exit %d %q", code, errOut)
	}
	if code, _, errOut := archiver(t, "targets", "retire"); code != exitUsage || !strings.Contains(errOut, "--region") {
		t.Fatalf("retire without --region: exit %d %q", code, errOut)
	}
}
