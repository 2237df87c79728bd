package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/pgserver"
)

type demoOptions struct {
	weeks int
	poll  time.Duration
	seed  int64
}

func (a *app) demoCommand() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo [--weeks N] [--poll D] [--seed N]",
		Short: "the whole story end to end, with no setup",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.weeks < 1 || o.poll <= 0 {
				return usagef("demo: --weeks must be at least 1 and --poll positive")
			}
			return a.demo(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.weeks, "weeks", 10, "simulated weeks to run")
	cmd.Flags().DurationVar(&o.poll, "poll", 12*time.Hour, "simulated time between ingest cycles")
	cmd.Flags().Int64Var(&o.seed, "seed", 7, "simulator seed")
	return cmd
}

func (a *app) demo(ctx context.Context, o demoOptions) error {
	started := time.Now()
	st, stop, err := a.demoStore(ctx)
	if err != nil {
		return err
	}
	defer stop()
	sim, err := cloudsim.New(cloudsim.Config{Seed: o.seed, Quirks: true})
	if err != nil {
		return err
	}
	cloud, err := harness.Serve(sim)
	if err != nil {
		return err
	}
	defer cloud.Close()
	runner, err := cloud.Runner(sim, st)
	if err != nil {
		return err
	}
	if err := a.demoSimulate(ctx, sim, runner, o); err != nil {
		return err
	}
	ok, err := a.demoAnswers(ctx, st, sim, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "done in %s. Point DATABASE_URL at your own PostgreSQL to keep an archive; see README.md.\n",
		time.Since(started).Round(100*time.Millisecond))
	if !ok {
		return errors.New("demo: the archive disagreed with the ground truth; this is a bug, please report it")
	}
	return nil
}

// demoStore opens the given database, or a throwaway server when none is
// given, and migrates it. The function it returns closes the store before it
// stops the server (a server waits for its clients).
func (a *app) demoStore(ctx context.Context) (*store.Store, func(), error) {
	stopServer := func() {}
	if a.dbURL() == "" {
		fmt.Fprintln(a.stdout, "starting a throwaway PostgreSQL from the local installation ...")
		srv, err := pgserver.Start(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("demo: %w; or set DATABASE_URL to a PostgreSQL you own", err)
		}
		stopServer = func() { _ = srv.Stop() }
		a.databaseURL = srv.URL("test")
	}
	release := func() {
		if a.st != nil {
			a.st.Close()
			a.st = nil
		}
		stopServer()
	}
	st, err := a.demoDatabase(ctx)
	if err != nil {
		release()
		return nil, nil, err
	}
	return st, release, nil
}

// demoDatabase migrates the demo's database; one that already holds an
// archive is refused, so the demo never mixes with real data.
func (a *app) demoDatabase(ctx context.Context) (*store.Store, error) {
	st, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := st.MigrateUp(ctx); err != nil {
		return nil, err
	}
	targets, err := st.Targets(ctx)
	if err != nil {
		return nil, err
	}
	if len(targets) > 0 {
		return nil, errors.New("demo: the database already holds an archive; unset DATABASE_URL to run the demo on a throwaway server")
	}
	return st, nil
}

// demoSimulate runs the weeks, compressed: advance the cloud, ingest, repeat.
func (a *app) demoSimulate(ctx context.Context, sim *cloudsim.Sim, runner *ingest.Runner, o demoOptions) error {
	cfg := sim.Config()
	fmt.Fprintf(a.stdout, "simulating %d weeks of file sends in %s (retention %s), archiving every %s of simulated time ...\n",
		o.weeks, cfg.Regions[0], cfg.Retention, o.poll)
	week := 7 * 24 * time.Hour
	end := sim.Now().Add(time.Duration(o.weeks) * week)
	for sim.Now().Before(end) {
		sim.Advance(o.poll)
		if _, err := runner.Once(ctx); err != nil {
			return fmt.Errorf("demo: ingest at %s: %w", sim.Now().Format(time.RFC3339), err)
		}
		if elapsed := sim.Now().Sub(cfg.Start); elapsed%week < o.poll {
			fmt.Fprintf(a.stdout, "  week %2d done: %d sends created so far\n", int(elapsed/week), len(sim.Sends()))
		}
	}
	return nil
}

// demoAnswers shows what only the archive still knows, checked against the
// simulator's ground truth, then verification and coverage. ok is false when
// any answer disagreed with the truth or a chain did not verify.
func (a *app) demoAnswers(ctx context.Context, st *store.Store, sim *cloudsim.Sim, o demoOptions) (bool, error) {
	q := &query.Querier{Store: st}
	sends := sim.Sends()
	var evicted []cloudsim.SendTruth
	archived := 0
	for _, s := range sends {
		if !sim.Listed(s.Region, s.InvokeID) {
			evicted = append(evicted, s)
		}
		if _, err := q.History(ctx, s.InvokeID); err == nil {
			archived++
		}
	}
	fmt.Fprintf(a.stdout, "\nafter %d simulated weeks: the cloud created %d sends and still serves %d; the archive holds %d.\n",
		o.weeks, len(sends), len(sends)-len(evicted), archived)
	fmt.Fprintf(a.stdout, "%d sends are gone from the cloud and answered only by the archive. A few of them:\n\n", len(evicted))
	sort.Slice(evicted, func(i, j int) bool { return evicted[i].CreationTime.Before(evicted[j].CreationTime) })
	matches, shown, err := a.demoSample(ctx, q, sim, evicted)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(a.stdout, "\n%d of %d sampled answers match the simulator's ground truth.\n", matches, shown)
	rep, err := q.Verify(ctx)
	if err != nil {
		return false, err
	}
	verdict := "every hash chain checks out"
	if !rep.OK() {
		verdict = fmt.Sprintf("BROKEN: %s", rep.Problems[0])
	}
	fmt.Fprintf(a.stdout, "verify: %d events, %s.\n", rep.Events, verdict)
	targets, err := st.Targets(ctx)
	if err != nil {
		return false, err
	}
	runs, err := st.Runs(ctx)
	if err != nil {
		return false, err
	}
	for _, c := range query.Coverage(targets, runs) {
		fmt.Fprintf(a.stdout, "coverage %s: %d runs, %d complete walks, %d gaps.\n", c.Target, c.Runs, c.CompleteWalks, len(c.Gaps))
	}
	return rep.OK() && matches == shown, nil
}

// demoSample prints up to six evicted sends' status half an hour after
// creation and now, beside the truth, and counts the matches.
func (a *app) demoSample(ctx context.Context, q *query.Querier, sim *cloudsim.Sim, evicted []cloudsim.SendTruth) (matches, shown int, err error) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INVOKE ID\tCREATED\tAT (created + 30m)\tARCHIVE SAYS\tTRUTH\tNOW (ARCHIVE)\tTRUTH")
	for i := 0; i < len(evicted) && shown < 6; i += max(1, len(evicted)/6) {
		s := evicted[i]
		at := s.CreationTime.Add(30 * time.Minute)
		then, err := q.Status(ctx, s.InvokeID, at, nil)
		if err != nil {
			return matches, shown, fmt.Errorf("demo: status of %s: %w", s.InvokeID, err)
		}
		now, err := q.Status(ctx, s.InvokeID, sim.Now(), nil)
		if err != nil {
			return matches, shown, fmt.Errorf("demo: status of %s: %w", s.InvokeID, err)
		}
		truthThen, _, _ := sim.StatusAt(s.InvokeID, at)
		truthNow, _, _ := sim.StatusAt(s.InvokeID, sim.Now())
		if string(then.Status) == truthThen && string(now.Status) == truthNow {
			matches++
		}
		shown++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.InvokeID, s.CreationTime.Format(time.RFC3339),
			at.Format(time.RFC3339), then.Status, truthThen, now.Status, truthNow)
	}
	return matches, shown, tw.Flush()
}
