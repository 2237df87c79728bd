package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Two accounts from a YAML config file, each with its own credentials
// profile, behind one endpoint: each account's sends land under its own
// targets. A third account whose profile does not exist fails its own
// targets in one sentence, names no secret, and the others go on.
func TestAccountsFromYAMLConfig(t *testing.T) {
	var sims []*cloudsim.Sim
	var profiles strings.Builder
	for i, name := range []string{"alpha", "beta"} {
		sim, err := cloudsim.New(cloudsim.Config{Seed: int64(41 + i), AccessKeyID: "key-" + name,
			AccessKeySecret: "secret-of-" + name})
		if err != nil {
			t.Fatal(err)
		}
		sim.Advance(2 * 24 * time.Hour)
		sims = append(sims, sim)
		fmt.Fprintf(&profiles, "[%s]\ntype = access_key\naccess_key_id = key-%s\naccess_key_secret = secret-of-%s\n\n", name, name, name)
	}
	srv := httptest.NewServer(cloudsim.MultiAccount(sims...))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.ini")
	if err := os.WriteFile(creds, []byte(profiles.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", creds)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
	cfg := filepath.Join(dir, "archiver.yaml")
	if err := os.WriteFile(cfg, []byte(`# two accounts and a mistake
accounts:
  - name: alpha
    profile: alpha
    regions: [cn-hangzhou]
  - name: beta
    profile: beta
    regions: [cn-hangzhou]
    sources: [ecs.DescribeSendFileResults]
  - name: gamma
    profile: no-such-profile
    regions: [cn-shanghai]
endpoint: `+srv.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", storetest.URL(t))
	code, out, errOut := archiver(t, "ingest", "--once", "--config", cfg)
	if code != exitFailure || !strings.Contains(errOut, "account gamma") || !strings.Contains(errOut, "no-such-profile") {
		t.Fatalf("ingest: exit %d, want 1 naming account gamma's profile; stdout %q stderr %q", code, out, errOut)
	}
	for _, name := range []string{"alpha", "beta"} {
		if strings.Contains(out+errOut, "secret-of-"+name) {
			t.Fatalf("a secret was printed: %q %q", out, errOut)
		}
	}
	got := map[string]targetJSON{}
	for _, tg := range listTargetsAll(t) {
		got[tg.Account] = tg
	}
	conn, err := pgx.Connect(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for i, name := range []string{"alpha", "beta"} {
		tg := got[name]
		var sends int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM archive.invocations i
			JOIN archive.targets t ON t.id = i.target_id WHERE t.account = $1`, name).Scan(&sends); err != nil {
			t.Fatal(err)
		}
		// Every send the account made is still listed (two days of six
		// weeks' retention): each must be archived under its account.
		if want := len(sims[i].Sends()); tg.Region != "cn-hangzhou" || tg.LastSuccess == nil || want == 0 || sends != want {
			t.Fatalf("account %s: %+v, %d sends archived, the simulator made %d", name, tg, sends, want)
		}
	}
	if g, ok := got["gamma"]; ok && g.Events != 0 {
		t.Fatalf("account gamma archived something: %+v", g)
	}
}

// Each mistake in the accounts of a config file is a usage error naming
// the account and the field.
func TestAccountsConfigValidation(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://nowhere.invalid/x")
	cases := map[string]struct{ yaml, want string }{
		"no name":         {"accounts:\n  - regions: [cn-hangzhou]\n", "accounts[0]: needs a name"},
		"name twice":      {"accounts:\n  - {name: a, regions: [cn-hangzhou]}\n  - {name: a, regions: [cn-beijing]}\n", `the name "a" is used twice`},
		"no regions":      {"accounts:\n  - name: a\n", "accounts[0] (a).regions: no regions"},
		"bad region":      {"accounts:\n  - {name: a, regions: [Hangzhou]}\n", `"Hangzhou" is not a region id`},
		"unknown source":  {"accounts:\n  - {name: a, regions: [cn-hangzhou], sources: [ecs.DescribeCommands]}\n", `unknown source "ecs.DescribeCommands"`},
		"bad role":        {"accounts:\n  - {name: a, regions: [cn-hangzhou], role_arn: archiver-read}\n", "is not a role ARN"},
		"external alone":  {"accounts:\n  - {name: a, regions: [cn-hangzhou], external_id: x}\n", "external_id: is set without role_arn"},
		"unknown key":     {"accounts:\n  - {name: a, regions: [cn-hangzhou], access_key_secret: s}\n", "unknown field"},
		"not yaml":        {"accounts: [\n", "archiver.yaml"},
		"regions as well": {"regions: [cn-hangzhou]\naccounts:\n  - {name: a, regions: [cn-hangzhou]}\n", "give each account its regions there"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "archiver.yaml")
			if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := archiver(t, "ingest", "--once", "--config", path)
			if code != exitUsage || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, c.want)
			}
		})
	}
}

// The README's complete config file loads and validates as it is printed,
// with every source it names.
func TestREADMEConfigExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(b), "```yaml\n# archiver.yaml")
	block = "# archiver.yaml" + block
	block, _, closed := strings.Cut(block, "```")
	if !ok || !closed {
		t.Fatal("the README has no complete config example")
	}
	path := filepath.Join(t.TempDir(), "archiver.yaml")
	if err := os.WriteFile(path, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	c := defaultConfig()
	if err := c.loadFile(path); err != nil {
		t.Fatalf("the README's config: %v", err)
	}
	if err := c.Validate(true); err != nil {
		t.Fatalf("the README's config: %v", err)
	}
	sources := map[string]bool{}
	for _, a := range c.Accounts {
		for _, s := range a.Sources {
			sources[s] = true
		}
	}
	if len(c.Accounts) != 3 || len(sources) != 4 {
		t.Errorf("the README's config has %d accounts and sources %v; it shows three accounts and all four sources",
			len(c.Accounts), sources)
	}
}
