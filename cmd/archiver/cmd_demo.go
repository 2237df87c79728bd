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
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
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
	accounts, err := demoAccounts(o.seed)
	if err != nil {
		return err
	}
	sims := make([]*cloudsim.Sim, len(accounts))
	for i, acct := range accounts {
		sims[i] = acct.sim
	}
	cloud, err := harness.Serve(sims...)
	if err != nil {
		return err
	}
	defer cloud.Close()
	runner, err := cloud.Runner(sims[0], st)
	if err != nil {
		return err
	}
	for _, acct := range accounts {
		runner.Accounts = append(runner.Accounts, ingest.Account{Name: acct.name, Regions: acct.sim.Config().Regions,
			Sources: demoSources, Role: acct.role})
	}
	if err := a.demoSimulate(ctx, accounts, runner, o); err != nil {
		return err
	}
	ok, err := a.demoAnswers(ctx, st, accounts, o)
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

// demoSources are what the demo archives: the listed ECS sources.
var demoSources = []model.SourceID{model.SourceSendFileResults, model.SourceCommands}

// demoAccount is one simulated account: its own fleet and ground truth.
type demoAccount struct {
	name string
	sim  *cloudsim.Sim
	role *source.Role // how the archiver reaches it; nil: its own credentials
}

// demoAccounts are the demo's two accounts: "prod", whose credentials the
// archiver runs with, and "staging", reached by assuming a RAM role that
// trusts prod, as a central archiver reaches its workload accounts.
func demoAccounts(seed int64) ([]demoAccount, error) {
	prod, err := cloudsim.New(cloudsim.Config{Seed: seed, Quirks: true, CommandsPerDay: 12})
	if err != nil {
		return nil, err
	}
	staging, err := cloudsim.New(cloudsim.Config{Seed: seed + 1, Quirks: true, SendsPerDay: 15, CommandsPerDay: 8,
		AccessKeyID: "staging-access-key-id",
		Roles:       []cloudsim.Role{{Name: "archiver-read", TrustedAccounts: []string{prod.Config().AccountID}}}})
	if err != nil {
		return nil, err
	}
	return []demoAccount{{name: "prod", sim: prod}, {name: "staging", sim: staging,
		role: &source.Role{ARN: "acs:ram::" + staging.Config().AccountID + ":role/archiver-read"}}}, nil
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
func (a *app) demoSimulate(ctx context.Context, accounts []demoAccount, runner *ingest.Runner, o demoOptions) error {
	cfg := accounts[0].sim.Config()
	fmt.Fprintf(a.stdout, "simulating %d weeks of file sends and commands in %d accounts (retention %s), archiving every %s of simulated time ...\n",
		o.weeks, len(accounts), cfg.Retention, o.poll)
	week := 7 * 24 * time.Hour
	clock := accounts[0].sim
	end := clock.Now().Add(time.Duration(o.weeks) * week)
	for clock.Now().Before(end) {
		tasks := 0
		for _, acct := range accounts {
			acct.sim.Advance(o.poll)
			for _, src := range demoSources {
				tasks += len(acct.sim.Tasks(string(src)))
			}
		}
		if _, err := runner.Once(ctx); err != nil {
			return fmt.Errorf("demo: ingest at %s: %w", clock.Now().Format(time.RFC3339), err)
		}
		if elapsed := clock.Now().Sub(cfg.Start); elapsed%week < o.poll {
			fmt.Fprintf(a.stdout, "  week %2d done: %d sends and command tasks created so far\n", int(elapsed/week), tasks)
		}
	}
	return nil
}

// demoTask is one task the cloud no longer serves.
type demoTask struct {
	account string
	sim     *cloudsim.Sim
	cloudsim.TaskRef
}

// demoAnswers shows what only the archive still knows, checked against the
// simulator's ground truth, then verification and coverage. ok is false when
// any answer disagreed with the truth or a chain did not verify.
func (a *app) demoAnswers(ctx context.Context, st *store.Store, accounts []demoAccount, o demoOptions) (bool, error) {
	q := &query.Querier{Store: st}
	fmt.Fprintf(a.stdout, "\nafter %d simulated weeks:\n", o.weeks)
	var evicted []demoTask
	for _, acct := range accounts {
		for _, src := range demoSources {
			tasks := acct.sim.Tasks(string(src))
			gone, archived := 0, 0
			for _, tk := range tasks {
				if !acct.sim.TaskListed(tk.Source, tk.Region, tk.InvokeID) {
					evicted = append(evicted, demoTask{acct.name, acct.sim, tk})
					gone++
				}
				if _, err := q.History(ctx, tk.InvokeID); err == nil {
					archived++
				}
			}
			fmt.Fprintf(a.stdout, "  %-8s %-28s the cloud created %5d and still serves %5d; the archive holds %5d.\n",
				acct.name, src, len(tasks), len(tasks)-gone, archived)
		}
	}
	fmt.Fprintf(a.stdout, "%d tasks are gone from the cloud and answered only by the archive. A few of them:\n\n", len(evicted))
	sort.SliceStable(evicted, func(i, j int) bool { return evicted[i].CreationTime.Before(evicted[j].CreationTime) })
	matches, shown, err := a.demoSample(ctx, q, evicted)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(a.stdout, "\n%d of %d sampled answers match the simulator's ground truth.\n", matches, shown)
	return a.demoChecks(ctx, st, q, matches == shown)
}

// demoChecks prints verify's verdict and each target's coverage.
func (a *app) demoChecks(ctx context.Context, st *store.Store, q *query.Querier, matched bool) (bool, error) {
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
	return rep.OK() && matched, nil
}

// demoSample prints up to eight evicted tasks' status half an hour after
// creation and now, beside the truth, and counts the matches.
func (a *app) demoSample(ctx context.Context, q *query.Querier, evicted []demoTask) (matches, shown int, err error) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tSOURCE\tINVOKE ID\tCREATED\tAT (created + 30m)\tARCHIVE SAYS\tTRUTH\tNOW (ARCHIVE)\tTRUTH")
	for i := 0; i < len(evicted) && shown < 8; i += max(1, len(evicted)/8) {
		tk := evicted[i]
		at, now := tk.CreationTime.Add(30*time.Minute), tk.sim.Now()
		then, err := q.Status(ctx, tk.InvokeID, at, nil)
		if err != nil {
			return matches, shown, fmt.Errorf("demo: status of %s: %w", tk.InvokeID, err)
		}
		current, err := q.Status(ctx, tk.InvokeID, now, nil)
		if err != nil {
			return matches, shown, fmt.Errorf("demo: status of %s: %w", tk.InvokeID, err)
		}
		truthThen, _, _ := tk.sim.TaskStatusAt(tk.Source, tk.InvokeID, at)
		truthNow, _, _ := tk.sim.TaskStatusAt(tk.Source, tk.InvokeID, now)
		if string(then.Status) == truthThen && string(current.Status) == truthNow {
			matches++
		}
		shown++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", tk.account, tk.Source, tk.InvokeID,
			tk.CreationTime.Format(time.RFC3339), at.Format(time.RFC3339), then.Status, truthThen, current.Status, truthNow)
	}
	return matches, shown, tw.Flush()
}
