package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/audit"
	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// archive builds a small archive of two regions from the simulator and
// returns it with its URL and the simulator.
func archive(t *testing.T) (*store.Store, string, *cloudsim.Sim) {
	t.Helper()
	return archiveOf(t, cloudsim.Config{Seed: 77, Regions: []string{"cn-hangzhou", "cn-beijing"}, SendsPerDay: 30, Quirks: true})
}

// archiveOf archives six simulated days of cfg's world, polled every 8
// hours, of the given sources (none: the runner's default, file sends).
func archiveOf(t *testing.T, cfg cloudsim.Config, sources ...model.SourceID) (*store.Store, string, *cloudsim.Sim) {
	t.Helper()
	sim, err := cloudsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := harness.Serve(sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cloud.Close)
	st, url := storetest.Open(t)
	r, err := cloud.Runner(sim, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) > 0 {
		r.Accounts = []ingest.Account{{Name: "acct", Regions: sim.Config().Regions, Sources: sources}}
	}
	if err := harness.Poll(context.Background(), sim, r, 6*24*time.Hour, 8*time.Hour); err != nil {
		t.Fatal(err)
	}
	return st, url, sim
}

func export(t *testing.T, st *store.Store, o audit.ExportOptions) audit.Manifest {
	t.Helper()
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "export")
	}
	if o.Format == "" {
		o.Format = audit.FormatJSONL
	}
	if o.Layout == "" {
		o.Layout = audit.LayoutFlat
	}
	m, err := audit.Export(context.Background(), st, o)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return m
}

func period(sim *cloudsim.Sim) store.Selection {
	start := sim.Config().Start
	return store.Selection{From: start.Add(24 * time.Hour), To: start.Add(4 * 24 * time.Hour)}
}

func readEvents(t *testing.T, dir string, m audit.Manifest) []audit.EventRow {
	t.Helper()
	var out []audit.EventRow
	for _, f := range m.Files {
		if !strings.HasSuffix(strings.TrimSuffix(f.Name, "."+string(f.Format)), "events") {
			continue
		}
		err := audit.ReadRows(f.Format, filepath.Join(dir, filepath.FromSlash(f.Name)), func(r *audit.EventRow) error {
			out = append(out, *r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// independentHash is DESIGN.md §10.3 written out again with nothing but
// crypto/sha256, as an outside verifier would.
func independentHash(t *testing.T, r audit.EventRow) string {
	t.Helper()
	prev, err := hex.DecodeString(r.PrevHash)
	if err != nil || len(prev) != 32 {
		t.Fatalf("prev_hash %q", r.PrevHash)
	}
	h := sha256.New()
	h.Write(prev)
	i64 := func(v int64) { _ = binary.Write(h, binary.BigEndian, v) }
	s := func(p *string) {
		v := ""
		if p != nil {
			v = *p
		}
		_ = binary.Write(h, binary.BigEndian, uint32(len(v)))
		h.Write([]byte(v))
	}
	str := func(v string) { s(&v) }
	run := int64(0)
	if r.RunID != nil {
		run = *r.RunID
	}
	i64(r.TargetID)
	str(r.InvokeID)
	s(r.InstanceID)
	i64(r.Seq)
	str(r.Type)
	s(r.FromStatus)
	s(r.ToStatus)
	i64(r.OccurredAt.UnixMicro())
	i64(r.RecordedAt.UnixMicro())
	str(r.Evidence)
	i64(run)
	s(r.Detail)
	str(r.Payload)
	return hex.EncodeToString(h.Sum(nil))
}

// Every format carries the same rows: Parquet read back with parquet-go and
// CSV equal the JSONL export row by row; every event re-hashes by the
// independent construction; the selection is exactly the period's events.
func TestExportFormatsAgree(t *testing.T) {
	t.Parallel()
	st, url, sim := archive(t)
	sel := period(sim)
	dirs := map[audit.Format]string{}
	manifests := map[audit.Format]audit.Manifest{}
	for _, f := range audit.Formats {
		dirs[f] = filepath.Join(t.TempDir(), string(f))
		manifests[f] = export(t, st, audit.ExportOptions{Selection: sel, Format: f, Dir: dirs[f]})
	}
	jsonl := readEvents(t, dirs[audit.FormatJSONL], manifests[audit.FormatJSONL])
	if len(jsonl) < 100 {
		t.Fatalf("only %d events exported", len(jsonl))
	}
	for _, f := range []audit.Format{audit.FormatParquet, audit.FormatCSV} {
		got := readEvents(t, dirs[f], manifests[f])
		if !reflect.DeepEqual(got, jsonl) {
			t.Fatalf("%s events differ from JSONL (%d vs %d rows)", f, len(got), len(jsonl))
		}
	}
	for _, r := range jsonl {
		if want := independentHash(t, r); want != r.Hash {
			t.Fatalf("position %d of target %d: independent hash %s, exported %s", r.ChainPosition, r.TargetID, want, r.Hash)
		}
		if r.OccurredAt.Before(sel.From) || !r.OccurredAt.Before(sel.To) {
			t.Fatalf("event outside [from, to): %s", r.OccurredAt)
		}
	}
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM archive.events WHERE occurred_at >= $1 AND occurred_at < $2`,
		sel.From, sel.To).Scan(&n); err != nil || n != len(jsonl) {
		t.Fatalf("the period holds %d events, the export %d (%v)", n, len(jsonl), err)
	}
	_ = url
}

// The same selection from an unchanged archive gives byte-identical data
// files, in every format and layout.
func TestExportDeterministic(t *testing.T) {
	t.Parallel()
	st, _, sim := archive(t)
	for _, f := range audit.Formats {
		for _, layout := range []audit.Layout{audit.LayoutFlat, audit.LayoutDaily} {
			a := export(t, st, audit.ExportOptions{Selection: period(sim), Format: f, Layout: layout})
			b := export(t, st, audit.ExportOptions{Selection: period(sim), Format: f, Layout: layout})
			if !reflect.DeepEqual(a.Files, b.Files) {
				t.Fatalf("%s %s: two exports differ:\n%+v\n%+v", f, layout, a.Files, b.Files)
			}
		}
	}
}

// The sends and instances tables agree with the point-in-time query at the
// end of the period.
func TestExportSendsAtEndOfPeriod(t *testing.T) {
	t.Parallel()
	st, _, sim := archive(t)
	sel := period(sim)
	dir := filepath.Join(t.TempDir(), "x")
	m := export(t, st, audit.ExportOptions{Selection: sel, Dir: dir})
	q := &query.Querier{Store: st}
	sends := 0
	err := audit.ReadRows(audit.FormatJSONL, filepath.Join(dir, "sends.jsonl"), func(r *audit.SendRow) error {
		sends++
		s, err := q.Status(context.Background(), r.InvokeID, sel.To, nil)
		if err != nil {
			return err
		}
		if r.Status == nil || *r.Status != string(s.Status) {
			t.Errorf("%s: exported status %v, status at to %s", r.InvokeID, r.Status, s.Status)
		}
		return nil
	})
	if err != nil || sends == 0 {
		t.Fatalf("%d sends, %v", sends, err)
	}
	var instances int64
	for _, f := range m.Files {
		if f.Name == "instances.jsonl" {
			instances = f.Rows
		}
	}
	if instances < int64(sends) {
		t.Fatalf("%d instance rows for %d sends", instances, sends)
	}
}

// The daily layout holds the same events as the flat one, one directory per
// UTC day, every file listed, and verifies.
func TestDailyLayout(t *testing.T) {
	t.Parallel()
	st, _, sim := archive(t)
	flatDir, dailyDir := filepath.Join(t.TempDir(), "flat"), filepath.Join(t.TempDir(), "daily")
	flat := export(t, st, audit.ExportOptions{Selection: period(sim), Format: audit.FormatParquet, Dir: flatDir})
	daily := export(t, st, audit.ExportOptions{Selection: period(sim), Format: audit.FormatParquet, Layout: audit.LayoutDaily, Dir: dailyDir})
	days := map[string]bool{}
	for _, f := range daily.Files {
		if !strings.HasPrefix(f.Name, "day=") {
			t.Fatalf("daily file %s is not in a day= directory", f.Name)
		}
		days[strings.SplitN(f.Name, "/", 2)[0]] = true
	}
	if len(days) < 3 {
		t.Fatalf("%d days", len(days))
	}
	for _, f := range daily.Files {
		if !strings.HasSuffix(f.Name, "/events.parquet") {
			continue
		}
		err := audit.ReadRows(f.Format, filepath.Join(dailyDir, filepath.FromSlash(f.Name)), func(r *audit.EventRow) error {
			if day := r.OccurredAt.Format("day=2006-01-02"); !strings.HasPrefix(f.Name, day+"/") {
				t.Errorf("an event of %s is in %s", day, f.Name)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	a, b := readEvents(t, flatDir, flat), readEvents(t, dailyDir, daily)
	key := func(rows []audit.EventRow) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.Hash)
		}
		sort.Strings(out)
		return out
	}
	if !reflect.DeepEqual(key(a), key(b)) {
		t.Fatalf("daily layout has %d events, flat %d", len(b), len(a))
	}
	if _, err := audit.VerifyExport(context.Background(), audit.VerifyOptions{Dir: dailyDir}); err != nil {
		t.Fatalf("daily export does not verify: %v", err)
	}
}

// An existing non-empty directory is refused and left untouched.
func TestExportRefusesNonEmptyDir(t *testing.T) {
	t.Parallel()
	st, _, sim := archive(t)
	dir := t.TempDir()
	keep := filepath.Join(dir, "notes.txt")
	_ = os.WriteFile(keep, []byte("mine"), 0o644)
	_, err := audit.Export(context.Background(), st, audit.ExportOptions{Selection: period(sim), Format: audit.FormatJSONL, Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("export into a non-empty directory: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if b, _ := os.ReadFile(keep); len(entries) != 1 || !bytes.Equal(b, []byte("mine")) {
		t.Fatalf("the directory was touched: %v", entries)
	}
}

// An export that fails part way (here: the database connection is gone
// after the events are written) leaves no manifest and no data files, so
// nothing partial can ever pass verification.
func TestFailedExportLeavesNoManifest(t *testing.T) {
	t.Parallel()
	st, _, sim := archive(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := filepath.Join(t.TempDir(), "x")
	_, err := audit.Export(ctx, st, audit.ExportOptions{Selection: period(sim), Format: audit.FormatParquet, Layout: audit.LayoutFlat,
		Dir: dir, Progress: func(stage string, done, total int64) {
			if stage == "events" && done == total {
				cancel()
			}
		}})
	if err == nil {
		t.Fatal("the export succeeded without its database")
	}
	var left []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("a failed export left %v", left)
	}
	if _, err := audit.VerifyExport(context.Background(), audit.VerifyOptions{Dir: dir}); !audit.IsMismatch(err) {
		t.Fatalf("the remains verified: %v", err)
	}
}

// Contents leave only when asked, and then each body hashes to its sha256.
func TestExportContentsOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	st, _, sim := archive(t)
	plain := export(t, st, audit.ExportOptions{Selection: period(sim)})
	for _, f := range plain.Files {
		if strings.HasPrefix(f.Name, "contents") {
			t.Fatalf("an export carries %s without being asked", f.Name)
		}
	}
	dir := filepath.Join(t.TempDir(), "c")
	m := export(t, st, audit.ExportOptions{Selection: period(sim), Dir: dir, IncludeContents: true})
	var rows int64
	for _, f := range m.Files {
		if f.Name == "contents.jsonl" {
			rows = f.Rows
		}
	}
	if rows == 0 {
		t.Fatal("no contents exported when asked")
	}
	if _, err := audit.VerifyExport(context.Background(), audit.VerifyOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
}

// Taking a settled send's state from its projection gives exactly what
// folding its events gives: exports with and without the shortcut are
// byte-identical, for periods that end while sends are still running (so
// both paths are taken).
func TestSettledSendsEqualRefolded(t *testing.T) {
	t.Parallel()
	st, _, sim := archive(t)
	start := sim.Config().Start
	for _, to := range []time.Duration{26 * time.Hour, 49*time.Hour + 17*time.Minute, 6 * 24 * time.Hour} {
		sel := store.Selection{From: start, To: start.Add(to)}
		for _, layout := range []audit.Layout{audit.LayoutFlat, audit.LayoutDaily} {
			fast := export(t, st, audit.ExportOptions{Selection: sel, Layout: layout})
			slow := export(t, st, audit.ExportOptions{Selection: sel, Layout: layout, Refold: true})
			if !reflect.DeepEqual(fast.Files, slow.Files) {
				t.Fatalf("to +%s %s: the shortcut changes the export:\n%+v\n%+v", to, layout, fast.Files, slow.Files)
			}
		}
		var unsettled int
		if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM archive.invocations i
			WHERE i.creation_time < $1 AND (i.last_occurred_at > $1 OR EXISTS (SELECT 1 FROM archive.instances x
			WHERE x.target_id = i.target_id AND x.invoke_id = i.invoke_id AND x.last_occurred_at > $1))`, sel.To).Scan(&unsettled); err != nil {
			t.Fatal(err)
		}
		t.Logf("to +%s: %d sends still changing after the end of the period", to, unsettled)
	}
}
