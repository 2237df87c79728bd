package ingest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// A central account's keys archive a second account by assuming a role the
// second account trusts it with, through STS at the archiver's endpoint.
// An account whose role STS refuses fails its own targets with a sentence
// naming the account and the role, no secret; the others go on.
func TestAccountsThroughAssumedRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	central, err := cloudsim.New(cloudsim.Config{Seed: 301, AccessKeyID: "key-central", AccessKeySecret: "central-secret"})
	if err != nil {
		t.Fatal(err)
	}
	workload, err := cloudsim.New(cloudsim.Config{Seed: 302, AccessKeyID: "key-workload", SendsPerDay: 40,
		Roles: []cloudsim.Role{{Name: "archiver-read", TrustedAccounts: []string{central.Config().AccountID}}}})
	if err != nil {
		t.Fatal(err)
	}
	workload.Advance(3 * 24 * time.Hour)
	cloud, err := harness.Serve(central, workload)
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	st, url := storetest.Open(t)
	runner, err := cloud.Runner(central, st) // the central account's keys
	if err != nil {
		t.Fatal(err)
	}
	arn := "acs:ram::" + workload.Config().AccountID + ":role/archiver-read"
	runner.Accounts = []ingest.Account{
		{Name: "workload", Role: &source.Role{ARN: arn}, Regions: workload.Config().Regions},
		{Name: "denied", Role: &source.Role{ARN: "acs:ram::" + workload.Config().AccountID + ":role/not-there"},
			Regions: []string{"cn-shanghai"}},
	}
	results, err := runner.Once(ctx)
	if err == nil || !strings.Contains(err.Error(), "account denied") || !strings.Contains(err.Error(), "role/not-there") ||
		strings.Contains(err.Error(), "central-secret") {
		t.Fatalf("the refused role: %v", err)
	}
	t.Logf("the refused account says: %v", err)
	var archived int
	for _, r := range results {
		if r.Target.Account == "workload" {
			if r.Err != nil {
				t.Fatalf("the trusted role's target failed: %v", r.Err)
			}
			archived += r.Run.Records
		}
	}
	if want := len(workload.Sends()); archived == 0 || archived != want {
		t.Fatalf("archived %d records of the workload account, it made %d sends", archived, want)
	}
	if central.Stats().AssumeRoles+workload.Stats().AssumeRoles == 0 {
		t.Fatal("no role was assumed")
	}
	if _, n := storetest.Fingerprint(t, url); n == 0 {
		t.Fatal("nothing in the log")
	}
}

// Assumed credentials are replaced before they expire, and only then.
func TestAssumedRoleRefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		session   time.Duration
		refreshes bool
	}{{time.Hour, false}, {2 * time.Minute, true}} { // 2 min is inside the 3 min margin
		sim, err := cloudsim.New(cloudsim.Config{Seed: 303, SessionDuration: c.session,
			Roles: []cloudsim.Role{{Name: "archiver-read"}}})
		if err != nil {
			t.Fatal(err)
		}
		cloud, err := harness.Serve(sim)
		if err != nil {
			t.Fatal(err)
		}
		api, err := cloud.API(sim)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := source.AssumeRole(context.Background(), api,
			source.Role{ARN: "acs:ram::" + sim.Config().AccountID + ":role/archiver-read"})
		if err != nil {
			t.Fatal(err)
		}
		first, err := cred.GetCredential()
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := cred.GetCredential(); err != nil {
				t.Fatal(err)
			}
		}
		again, _ := cred.GetCredential()
		calls := sim.Stats().AssumeRoles
		if c.refreshes && (calls < 4 || *again.AccessKeyId == *first.AccessKeyId) {
			t.Fatalf("credentials lasting %s were not replaced: %d AssumeRole calls", c.session, calls)
		}
		if !c.refreshes && calls != 1 {
			t.Fatalf("credentials lasting %s were fetched %d times", c.session, calls)
		}
		cloud.Close()
	}
}
