package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cloudassistant/sendfile-archive/signing"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Layout is how an export's files are arranged.
type Layout string

// Layouts: one file per table, or one directory per UTC day (day=YYYY-MM-DD/)
// that data lakes read with partition pruning.
const (
	LayoutFlat  Layout = "flat"
	LayoutDaily Layout = "daily"
)

// ExportOptions describe one export.
type ExportOptions struct {
	Selection store.Selection
	Format    Format
	Layout    Layout
	Dir       string
	SignKey   ed25519.PrivateKey // nil: unsigned
	// IncludeContents also writes contents.<ext>: the file bodies, which
	// exports otherwise leave out (they carry only hashes).
	IncludeContents bool
	// Refold folds every send from its events even where its projection
	// already is its state at the end of the period. The output is the
	// same (tests hold the two equal); it is slower.
	Refold  bool
	Version string // the archiver's version, for the manifest
	// Progress, when set, is told how far each stage ("events", "sends")
	// has come; total is -1 when unknown.
	Progress func(stage string, done, total int64)
	Now      func() time.Time
}

// progressEvery is how many rows pass between progress reports.
const progressEvery = 10_000

// Export writes the selection into o.Dir as DESIGN.md §10.1 specifies and
// returns its manifest. Everything is read from one snapshot. The manifest is
// written last: an export that fails part way leaves no manifest (and its
// data files are removed), so it can never verify.
func Export(ctx context.Context, st *store.Store, o ExportOptions) (Manifest, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := prepareDir(o.Dir); err != nil {
		return Manifest{}, err
	}
	x := &exporter{o: o}
	x.total.Store(-1)
	if o.Progress != nil {
		stop := x.countBeside(ctx, st)
		defer stop()
	} else {
		x.o.Progress = func(string, int64, int64) {}
	}
	m, err := x.run(ctx, st)
	if err == nil {
		// Cancelled after the last row was read (an interrupt at the very
		// end): still no manifest, as for any export that did not finish.
		err = ctx.Err()
	}
	if err == nil {
		err = x.writeManifest(&m)
	}
	if err != nil {
		x.removeFiles()
		return Manifest{}, err
	}
	return m, nil
}

// exporter is one export in progress. Its tables are written concurrently:
// mu guards the lists of files and the progress callback.
type exporter struct {
	o       ExportOptions
	targets map[int64]store.Target // written before the tables, then only read
	mu      sync.Mutex
	files   []FileEntry
	created []string     // every path written, for cleanup
	total   atomic.Int64 // events selected, for progress; -1 until counted
}

// countBeside counts the selected events for the progress total while the
// export runs (counting first cost up to a tenth of an export's time); the
// returned function stops it.
func (x *exporter) countBeside(ctx context.Context, st *store.Store) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if n, err := st.CountSelected(ctx, x.o.Selection); err == nil {
			x.total.Store(n)
		}
	}()
	return func() { cancel(); <-done }
}

// progress reports a stage's progress, one report at a time.
func (x *exporter) progress(stage string, done, total int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.o.Progress(stage, done, total)
}

// wrote records a path the export created (removed if it fails).
func (x *exporter) wrote(path string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.created = append(x.created, path)
}

func (x *exporter) run(ctx context.Context, st *store.Store) (Manifest, error) {
	sel := x.o.Selection
	m := Manifest{Format: ManifestFormat, ArchiverVersion: x.o.Version, Selection: selectionDoc(sel)}
	err := st.ReadSnapshot(ctx, func(s *store.Snapshot) error {
		heads, err := s.SelectedChains(ctx, sel)
		if err != nil {
			return err
		}
		x.targets = map[int64]store.Target{}
		for _, h := range heads {
			x.targets[h.Target.ID] = h.Target
		}
		m.Chains = chainEntries(heads)
		// The event rows and the folded sends are read side by side, on two
		// connections sharing the snapshot: each stream keeps a PostgreSQL
		// backend and an encoder busy, and one after the other they left
		// half the machine idle.
		return s.Beside(ctx, func(s2 *store.Snapshot) error {
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error { return x.writeEvents(gctx, s) })
			g.Go(func() error { return x.writeSends(gctx, s2) })
			if err := g.Wait(); err != nil {
				return err
			}
			return x.writeContents(ctx, s)
		})
	})
	if err != nil {
		return Manifest{}, fmt.Errorf("export: %w", err)
	}
	sort.Slice(x.files, func(i, j int) bool { return x.files[i].Name < x.files[j].Name })
	m.Files = x.files
	return m, nil
}

func selectionDoc(sel store.Selection) SelectionDoc {
	d := SelectionDoc{From: FormatTime(sel.From), To: FormatTime(sel.To), By: "occurred_at", Account: sel.Account,
		Region: sel.Region}
	if sel.ByRecorded {
		d.By = "recorded_at"
	}
	if sel.Source != nil {
		s := string(*sel.Source)
		d.Source = &s
	}
	return d
}

// fileName names a table's file in a partition ("" in the flat layout).
func (x *exporter) fileName(table, partition string) string {
	name := table + "." + string(x.o.Format)
	if partition != "" {
		return "day=" + partition + "/" + name
	}
	return name
}

// partitionOf is the partition a time falls in.
func (x *exporter) partitionOf(t time.Time) string {
	if x.o.Layout != LayoutDaily {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func (x *exporter) writeEvents(ctx context.Context, s *store.Snapshot) error {
	sel := x.o.Selection
	cur, err := s.SelectedEvents(ctx, sel, x.o.Layout == LayoutDaily)
	if err != nil {
		return err
	}
	events := &partitioned[EventRow]{x: x, table: "events"}
	defer events.abandon()
	if x.o.Layout != LayoutDaily {
		if err := events.to(""); err != nil {
			return err
		}
	}
	type item struct {
		part string
		row  EventRow
	}
	var done int64
	err = pipeline(ctx, func(emit func(item) error) error {
		for {
			e, ok, err := cur.Next(ctx)
			if err != nil || !ok {
				return err
			}
			selTime := e.OccurredAt
			if sel.ByRecorded {
				selTime = e.RecordedAt
			}
			if err := emit(item{x.partitionOf(selTime), eventRow(x.targets[e.TargetID], e)}); err != nil {
				return err
			}
		}
	}, func(it *item) error {
		if done++; done%progressEvery == 0 {
			// Only the last report may equal the total: it finishes the stage.
			total := x.total.Load()
			if total <= done {
				total = -1
			}
			x.progress("events", done, total)
		}
		return events.write(it.part, &it.row)
	})
	if err != nil {
		return err
	}
	x.progress("events", done, done)
	return events.close()
}

// writeContents writes contents.<ext> when asked, at the export's top level.
func (x *exporter) writeContents(ctx context.Context, s *store.Snapshot) error {
	if !x.o.IncludeContents {
		return nil
	}
	contents := &partitioned[ContentRow]{x: x, table: "contents"}
	defer contents.abandon()
	if err := contents.to(""); err != nil {
		return err
	}
	err := s.SelectedContents(ctx, x.o.Selection, func(c store.Content) error {
		return contents.write("", &ContentRow{SHA256: c.SHA256, Bytes: c.Bytes, Content: c.Content})
	})
	if err != nil {
		return err
	}
	return contents.close()
}

// writeManifest writes manifest.json and, when signing, manifest.json.sig.
func (x *exporter) writeManifest(m *Manifest) error {
	m.CreatedAt = FormatTime(x.o.Now())
	doc, err := marshalDocument(m)
	if err != nil {
		return err
	}
	path := filepath.Join(x.o.Dir, "manifest.json")
	if err := writeExclusive(path, doc, 0o644); err != nil {
		return err
	}
	x.wrote(path)
	if x.o.SignKey == nil {
		return nil
	}
	if err := signing.WriteSignature(path+".sig", signing.Sign(x.o.SignKey, doc)); err != nil {
		return fmt.Errorf("sign the manifest: %w", err)
	}
	x.wrote(path + ".sig")
	return nil
}

// removeFiles removes what a failed export wrote, manifest first, so that
// whatever is left can never pass as an export.
func (x *exporter) removeFiles() {
	for i := len(x.created) - 1; i >= 0; i-- {
		_ = os.Remove(x.created[i])
	}
	entries, _ := os.ReadDir(x.o.Dir)
	for _, e := range entries {
		if e.IsDir() {
			_ = os.Remove(filepath.Join(x.o.Dir, e.Name())) // empty day directories only
		}
	}
}

// partitioned writes one table, one file per partition; partitions arrive
// one after another (the cursors are ordered by partition first).
type partitioned[T Row] struct {
	x     *exporter
	table string
	key   string
	open  bool
	out   *outFile
	w     RowWriter[T]
}

func (p *partitioned[T]) to(key string) error {
	if p.open && key == p.key {
		return nil
	}
	if err := p.close(); err != nil {
		return err
	}
	out, err := createOut(p.x.o.Dir, p.x.fileName(p.table, key))
	if err != nil {
		return err
	}
	p.x.wrote(filepath.Join(p.x.o.Dir, filepath.FromSlash(out.name)))
	w, err := NewWriter[T](p.x.o.Format, out)
	if err != nil {
		_ = out.f.Close()
		return err
	}
	p.key, p.open, p.out, p.w = key, true, out, w
	return nil
}

func (p *partitioned[T]) write(key string, row *T) error {
	if err := p.to(key); err != nil {
		return err
	}
	p.out.rows++
	if err := p.w.Write(row); err != nil {
		return fmt.Errorf("write %s: %w", p.out.name, err)
	}
	return nil
}

// close finishes the open file and lists it in the manifest.
func (p *partitioned[T]) close() error {
	if !p.open {
		return nil
	}
	p.open = false
	if err := p.w.Close(); err != nil {
		_ = p.out.f.Close()
		return fmt.Errorf("finish %s: %w", p.out.name, err)
	}
	entry, err := p.out.finish(p.x.o.Format)
	if err != nil {
		return err
	}
	p.x.mu.Lock()
	p.x.files = append(p.x.files, entry)
	p.x.mu.Unlock()
	return nil
}

// abandon closes an open file after a failure (its contents do not matter:
// the export's files are removed).
func (p *partitioned[T]) abandon() {
	if p.open {
		p.open = false
		_ = p.out.f.Close()
	}
}
