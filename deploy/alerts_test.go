package deploy_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The shipped alert rules are checked by the tool Prometheus operators use
// (promtool, from Debian's prometheus package, which .ci/run installs), and
// they use the metrics the daemon exports under those names.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("the alert rules are checked with promtool: install it (apt-get install prometheus)")
	}
	out, err := exec.Command(promtool, "check", "rules", "alerts.yml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS: 3 rules found") {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	// And they fire when they should, and only then (promtool's own unit
	// tests of rules: gap after it appears, staleness past the threshold
	// only for the target that stopped succeeding).
	out, err = exec.Command(promtool, "test", "rules", "alerts_rules_test.yml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := os.ReadFile("../ingest/schedule/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"archiver_coverage_gap_seconds", "archiver_last_success_timestamp_seconds", "archiver_stale_after_seconds"} {
		if !strings.Contains(string(rules), m) || !strings.Contains(string(metrics), `"`+m+`"`) {
			t.Errorf("%s is not both alerted on and exported", m)
		}
	}
}
