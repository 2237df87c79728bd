package audit_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/audit"
	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// A command task's row carries its own attributes, and each instance's row
// the latest run started by the end of the period: its number, and once it
// finished its exit code and output hash, all as the simulator's truth has
// them. The rows are the same whether a task's state comes from its
// projection or from folding its events, and the export verifies.
func TestExportCommandColumns(t *testing.T) {
	t.Parallel()
	// Six days of ECS commands (some periodic) beside file sends.
	st, _, sim := archiveOf(t, cloudsim.Config{Seed: 78, SendsPerDay: 10, CommandsPerDay: 30},
		model.SourceSendFileResults, model.SourceCommands)
	start := sim.Config().Start
	for _, to := range []time.Time{start.Add(3*24*time.Hour + 7*time.Hour), sim.Now()} {
		src := model.SourceCommands
		sel := store.Selection{From: start, To: to, Source: &src}
		dir := filepath.Join(t.TempDir(), "x")
		fast := export(t, st, audit.ExportOptions{Selection: sel, Dir: dir})
		slow := export(t, st, audit.ExportOptions{Selection: sel, Refold: true})
		if !reflect.DeepEqual(fast.Files, slow.Files) {
			t.Fatalf("to %s: the projection shortcut changes the export:\n%+v\n%+v", to, fast.Files, slow.Files)
		}
		if _, err := audit.VerifyExport(context.Background(), audit.VerifyOptions{Dir: dir}); err != nil {
			t.Fatal(err)
		}
		checkCommandRows(t, sim, dir, to)
	}
}

func checkCommandRows(t *testing.T, sim *cloudsim.Sim, dir string, to time.Time) {
	t.Helper()
	sends, runs, finished := 0, 0, 0
	err := audit.ReadRows(audit.FormatJSONL, filepath.Join(dir, "sends.jsonl"), func(r *audit.SendRow) error {
		sends++
		c, ok := sim.Command(r.InvokeID)
		want := []string{c.CommandID, c.Parameters, c.RepeatMode, c.Frequency, c.Username, c.WorkingDir}
		if got := []string{str(r.CommandID), str(r.Parameters), str(r.RepeatMode), str(r.Frequency), str(r.Username),
			str(r.WorkingDir)}; !ok || !reflect.DeepEqual(got, want) || r.Timeout == nil || *r.Timeout != c.Timeout {
			t.Errorf("%s: command columns %q timeout %v, truth %q %d", r.InvokeID, got, r.Timeout, want, c.Timeout)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = audit.ReadRows(audit.FormatJSONL, filepath.Join(dir, "instances.jsonl"), func(r *audit.InstanceRow) error {
		c, _ := sim.Command(r.InvokeID)
		var latest *cloudsim.RunTruth
		for _, in := range c.Instances {
			for i := range in.Runs {
				if in.InstanceID == r.InstanceID && !in.Runs[i].Start.After(to) {
					latest = &in.Runs[i]
				}
			}
		}
		if latest == nil {
			if r.Repeats != nil || r.ExitCode != nil || r.OutputSHA256 != nil {
				t.Errorf("%s/%s: no run started by %s, row says run %s exit %s output %s", r.InvokeID, r.InstanceID, to,
					num(r.Repeats), num(r.ExitCode), str(r.OutputSHA256))
			}
			return nil
		}
		runs++
		if r.Repeats == nil || *r.Repeats != int64(latest.Repeats) {
			t.Errorf("%s/%s: run %s, truth %d", r.InvokeID, r.InstanceID, num(r.Repeats), latest.Repeats)
		}
		if done := !latest.Finish.After(to); done {
			finished++
			if r.ExitCode == nil || *r.ExitCode != latest.ExitCode || r.OutputSHA256 == nil {
				t.Errorf("%s/%s run %d: exit %s output %q, truth exit %d", r.InvokeID, r.InstanceID, latest.Repeats,
					num(r.ExitCode), str(r.OutputSHA256), latest.ExitCode)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sends < 50 || finished < 50 {
		t.Fatalf("to %s: %d command tasks, %d runs, %d finished: too few to show anything", to, sends, runs, finished)
	}
	t.Logf("to %s: %d command tasks, %d instances' latest runs (%d finished) equal the truth", to, sends, runs, finished)
}

func num(p *int64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatInt(*p, 10)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
