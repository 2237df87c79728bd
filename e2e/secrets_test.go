package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// No access key secret, security token or database password appears in
// anything the archiver prints: help, logs, errors, under faults, with a
// wrong secret, or with an unreachable or malformed database URL. (Every
// child process of this package is also checked when it ends.)
func TestNoSecretsInOutput(t *testing.T) {
	t.Parallel()
	c := newCloud(t, cloudsim.Config{Seed: 71, Faults: cloudsim.Faults{ThrottleRate: 0.2, ServerErrorRate: 0.1, MalformedRate: 0.05}})
	c.sim.Advance(5 * 24 * time.Hour)
	url := storetest.URL(t)

	runs := [][]string{
		{"--help"}, {"ingest", "--help"}, {"run", "--help"}, {"status", "--help"}, {"sim", "--help"},
		{"ingest", "--once"},
		{"verify"},
		{"coverage"},
	}
	for _, args := range runs {
		ch := start(t, url, c, args...)
		ch.wait(t, 2*time.Minute)
	}

	// A wrong secret: the error names the problem, not the value.
	ch := startEnv(t, url, c, []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + accessKeySecret + "-wrong"}, "ingest", "--once")
	if code := ch.wait(t, time.Minute); code != 1 || !strings.Contains(ch.out.String(), "credentials rejected") {
		t.Fatalf("wrong secret: exit %d\n%s", code, ch.out.String())
	}

	// Unreachable and malformed database URLs that carry the password.
	for _, dbURL := range []string{
		"postgres://archiver:" + dbPassword + "@127.0.0.1:1/archive?connect_timeout=2",
		"postgres://archiver:" + dbPassword + "@[::1/archive",
		"host=127.0.0.1 port=1 password=" + dbPassword + " connect_timeout=2",
	} {
		ch := startEnv(t, dbURL, c, nil, "status", "--invoke-id", "f-1")
		if code := ch.wait(t, time.Minute); code == 0 {
			t.Fatalf("status against %q succeeded", "unreachable database")
		}
		if !strings.Contains(ch.out.String(), "database") {
			t.Errorf("the error does not say the database is the problem:\n%s", ch.out.String())
		}
	}
}
