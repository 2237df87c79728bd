package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
)

func (a *app) simCommand() *cobra.Command {
	def := cloudsim.DefaultConfig()
	var (
		listen, regions, start             string
		seed                               int64
		retention, history                 time.Duration
		maxRecords, fleet                  int
		perDay, throttle, serverErr, speed float64
		quirks                             bool
	)
	cmd := &cobra.Command{
		Use:   "sim [--listen ADDR] [--seed N] [--regions R1,R2] [--retention D] [--max-records N] [--speed X] ...",
		Short: "run the API simulator (DescribeSendFileResults, STS GetCallerIdentity)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t0, err := parseTime("start", start)
			if err != nil {
				return err
			}
			if speed <= 0 {
				return usagef("sim: --speed must be positive")
			}
			sim, err := cloudsim.New(cloudsim.Config{
				Seed: seed, Start: t0, Regions: splitList(regions), Retention: retention, MaxRecords: maxRecords,
				SendsPerDay: perDay, FleetSize: fleet, Quirks: quirks,
				Faults: cloudsim.Faults{ThrottleRate: throttle, ServerErrorRate: serverErr},
			})
			if err != nil {
				return usagef("sim: %w", err)
			}
			sim.Advance(history)
			eff := sim.Config()
			fmt.Fprintf(a.stdout, "simulator serving DescribeSendFileResults on http://%s for regions %v (account %s)\n",
				listen, eff.Regions, eff.AccountID)
			fmt.Fprintf(a.stdout, "virtual clock at %s, running %gx; access key id %q (secret: the simulator's built-in default)\n",
				sim.Now().Format(time.RFC3339), speed, eff.AccessKeyID)
			go tick(cmd.Context(), sim, speed)
			return cloudsim.ListenAndServe(cmd.Context(), listen, sim)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8099", "address to serve the API on")
	f.Int64Var(&seed, "seed", 1, "seed for the simulated account (same seed, same history)")
	f.StringVar(&regions, "regions", "cn-hangzhou", "comma-separated regions the account serves")
	f.StringVar(&start, "start", def.Start.Format(time.RFC3339), "virtual clock start, RFC 3339")
	f.DurationVar(&retention, "retention", def.Retention, "how long records stay listed")
	f.IntVar(&maxRecords, "max-records", 0, "cap on listed records per region (0: none)")
	f.Float64Var(&perDay, "sends-per-day", def.SendsPerDay, "mean file sends per region per day")
	f.IntVar(&fleet, "fleet", def.FleetSize, "instances per region")
	f.BoolVar(&quirks, "quirks", false, "render the documented value quirks (offset times, stray whitespace, ...)")
	f.Float64Var(&throttle, "throttle-rate", 0, "fraction of requests answered with throttling")
	f.Float64Var(&serverErr, "server-error-rate", 0, "fraction of requests answered with 5xx")
	f.Float64Var(&speed, "speed", 1, "virtual seconds per wall-clock second (e.g. 3600: an hour a second)")
	f.DurationVar(&history, "history", 0, "advance the clock by this much before serving, to start with history")
	return cmd
}

// tick advances the virtual clock in step with the wall clock.
func tick(ctx context.Context, sim *cloudsim.Sim, speed float64) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sim.Advance(time.Duration(speed * float64(time.Second)))
		}
	}
}
