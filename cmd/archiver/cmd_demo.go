package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/ecssim"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/pgserver"
)

func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo", "demo [--weeks N] [--poll D] [--seed N]")
	weeks := fs.Int("weeks", 10, "simulated weeks to run")
	poll := fs.Duration("poll", 12*time.Hour, "simulated time between ingest cycles")
	seed := fs.Int64("seed", 7, "simulator seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *weeks < 1 || *poll <= 0 {
		return usagef("demo: --weeks must be at least 1 and --poll positive")
	}
	started := time.Now()

	// 1. A database: the given one, or a throwaway server.
	dbURL := e.databaseURL
	if dbURL == "" {
		fmt.Fprintln(e.stdout, "starting a throwaway PostgreSQL from the local installation ...")
		srv, err := pgserver.Start(ctx)
		if err != nil {
			return fmt.Errorf("demo: %w; or set DATABASE_URL to a PostgreSQL you own", err)
		}
		defer srv.Stop()
		dbURL = srv.URL("test")
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	db := stdlib.OpenDBFromPool(st.Pool())
	defer db.Close()
	if err := migrate(ctx, &env{stdout: discard{}, stderr: e.stderr}, db, "up"); err != nil {
		return err
	}
	if targets, err := st.Targets(ctx); err != nil {
		return err
	} else if len(targets) > 0 {
		return errors.New("demo: the database already holds an archive; unset DATABASE_URL to run the demo on a throwaway server")
	}

	// 2. The simulated cloud, on loopback, with six weeks' retention.
	sim, err := ecssim.New(ecssim.Config{Seed: *seed, Quirks: true})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	cfg := sim.Config()
	cred, err := credentials.NewCredential(&credentials.Config{
		Type: strPtr("access_key"), AccessKeyId: strPtr(cfg.AccessKeyID), AccessKeySecret: strPtr(cfg.AccessKeySecret)})
	if err != nil {
		return err
	}
	region := cfg.Regions[0]
	runner := &ingest.Runner{Store: st, Regions: cfg.Regions, Clock: sim.Now,
		NewSource: func(r string) (ingest.Source, error) {
			return source.NewClient(r, source.Options{Endpoint: "http://" + ln.Addr().String(), Credential: cred})
		}}
	fmt.Fprintf(e.stdout, "simulating %d weeks of file sends in %s (retention %s), archiving every %s of simulated time ...\n",
		*weeks, region, cfg.Retention, *poll)

	// 3. Ten weeks, compressed.
	end := sim.Now().Add(time.Duration(*weeks) * 7 * 24 * time.Hour)
	for cycle := 0; sim.Now().Before(end); cycle++ {
		sim.Advance(*poll)
		if _, err := runner.Once(ctx); err != nil {
			return fmt.Errorf("demo: ingest at %s: %w", sim.Now().Format(time.RFC3339), err)
		}
		if week := int(sim.Now().Sub(cfg.Start) / (7 * 24 * time.Hour)); sim.Now().Sub(cfg.Start)%(7*24*time.Hour) < *poll {
			fmt.Fprintf(e.stdout, "  week %2d done: %d sends created so far\n", week, len(sim.Sends()))
		}
	}

	// 4. What only the archive still knows.
	sends := sim.Sends()
	var evicted []ecssim.SendTruth
	for _, s := range sends {
		if !sim.Listed(s.Region, s.InvokeID) {
			evicted = append(evicted, s)
		}
	}
	q := &query.Querier{Store: st}
	archived := 0
	for _, s := range sends {
		if _, err := q.History(ctx, s.InvokeID); err == nil {
			archived++
		}
	}
	fmt.Fprintf(e.stdout, "\nafter %d simulated weeks: the cloud created %d sends and still serves %d; the archive holds %d.\n",
		*weeks, len(sends), len(sends)-len(evicted), archived)
	fmt.Fprintf(e.stdout, "%d sends are gone from the cloud and answered only by the archive. A few of them:\n\n", len(evicted))
	sort.Slice(evicted, func(i, j int) bool { return evicted[i].CreationTime.Before(evicted[j].CreationTime) })
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INVOKE ID\tCREATED\tAT (created + 30m)\tARCHIVE SAYS\tTRUTH\tNOW (ARCHIVE)\tTRUTH")
	matches, shown := 0, 0
	for i := 0; i < len(evicted) && shown < 6; i += max(1, len(evicted)/6) {
		s := evicted[i]
		at := s.CreationTime.Add(30 * time.Minute)
		then, err := q.Status(ctx, s.InvokeID, at, nil)
		if err != nil {
			return fmt.Errorf("demo: status of %s: %w", s.InvokeID, err)
		}
		now, err := q.Status(ctx, s.InvokeID, sim.Now(), nil)
		if err != nil {
			return fmt.Errorf("demo: status of %s: %w", s.InvokeID, err)
		}
		truthThen, _, _ := sim.StatusAt(s.InvokeID, at)
		truthNow, _, _ := sim.StatusAt(s.InvokeID, sim.Now())
		if then.Status == truthThen && now.Status == truthNow {
			matches++
		}
		shown++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.InvokeID, s.CreationTime.Format(time.RFC3339),
			at.Format(time.RFC3339), then.Status, truthThen, now.Status, truthNow)
	}
	_ = tw.Flush()
	fmt.Fprintf(e.stdout, "\n%d of %d sampled answers match the simulator's ground truth.\n", matches, shown)

	rep, err := q.Verify(ctx)
	if err != nil {
		return err
	}
	verdict := "every hash chain checks out"
	if !rep.OK() {
		verdict = fmt.Sprintf("BROKEN: %s", rep.Problems[0])
	}
	fmt.Fprintf(e.stdout, "verify: %d events, %s.\n", rep.Events, verdict)
	targets, _ := st.Targets(ctx)
	runs, _ := st.Runs(ctx)
	for _, c := range query.Coverage(targets, runs) {
		fmt.Fprintf(e.stdout, "coverage %s: %d runs, %d complete walks, %d gaps.\n", c.Region, c.Runs, c.CompleteWalks, len(c.Gaps))
	}
	fmt.Fprintf(e.stdout, "done in %s. Point DATABASE_URL at your own PostgreSQL to keep an archive; see README.md.\n",
		time.Since(started).Round(100*time.Millisecond))
	if !rep.OK() || matches != shown {
		return errors.New("demo: the archive disagreed with the ground truth; this is a bug, please report it")
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func strPtr(s string) *string { return &s }
