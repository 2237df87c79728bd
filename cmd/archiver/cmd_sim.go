package main

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/ecssim"
)

func cmdSim(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "sim", "sim [--listen ADDR] [--seed N] [--regions R1,R2] [--retention D] [--max-records N] [--speed X] ...")
	def := ecssim.DefaultConfig()
	listen := fs.String("listen", "127.0.0.1:8099", "address to serve the API on")
	seed := fs.Int64("seed", 1, "seed for the simulated account (same seed, same history)")
	regions := fs.String("regions", "cn-hangzhou", "comma-separated regions the account serves")
	start := fs.String("start", def.Start.Format(time.RFC3339), "virtual clock start, RFC 3339")
	retention := fs.Duration("retention", def.Retention, "how long records stay listed")
	maxRecords := fs.Int("max-records", 0, "cap on listed records per region (0: none)")
	perDay := fs.Float64("sends-per-day", def.SendsPerDay, "mean file sends per region per day")
	fleet := fs.Int("fleet", def.FleetSize, "instances per region")
	quirks := fs.Bool("quirks", false, "render the documented value quirks (offset times, stray whitespace, ...)")
	throttle := fs.Float64("throttle-rate", 0, "fraction of requests answered with throttling")
	serverErr := fs.Float64("server-error-rate", 0, "fraction of requests answered with 5xx")
	speed := fs.Float64("speed", 1, "virtual seconds per wall-clock second (e.g. 3600: an hour a second)")
	history := fs.Duration("history", 0, "advance the clock by this much before serving, to start with history")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	t0, err := parseTime("start", *start)
	if err != nil {
		return err
	}
	if *speed <= 0 {
		return usagef("sim: --speed must be positive")
	}
	cfg := ecssim.Config{
		Seed: *seed, Start: t0, Regions: splitList(*regions), Retention: *retention, MaxRecords: *maxRecords,
		SendsPerDay: *perDay, FleetSize: *fleet, Quirks: *quirks,
		Faults: ecssim.Faults{ThrottleRate: *throttle, ServerErrorRate: *serverErr},
	}
	sim, err := ecssim.New(cfg)
	if err != nil {
		return usagef("sim: %v", err)
	}
	sim.Advance(*history)
	eff := sim.Config()
	fmt.Fprintf(e.stdout, "simulator serving DescribeSendFileResults on http://%s for regions %v\n", *listen, eff.Regions)
	fmt.Fprintf(e.stdout, "virtual clock at %s, running %gx; access key id %q (secret: the simulator's built-in default)\n",
		sim.Now().Format(time.RFC3339), *speed, eff.AccessKeyID)
	go tick(ctx, sim, *speed)
	return ecssim.ListenAndServe(ctx, *listen, sim)
}

// tick advances the virtual clock in step with the wall clock.
func tick(ctx context.Context, sim *ecssim.Sim, speed float64) {
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
