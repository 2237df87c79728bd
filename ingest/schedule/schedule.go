// Package schedule wires the ingest runner to a robfig/cron schedule for
// `archiver run`, and serves /healthz and Prometheus /metrics beside it.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"

	"github.com/cloudassistant/sendfile-archive/ingest"
)

// ParseSchedule accepts a standard five-field cron spec or a descriptor such
// as "@every 5m" or "@hourly".
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

// Daemon runs cycles on a schedule until its context ends.
type Daemon struct {
	Runner   *ingest.Runner
	Schedule string
	Listen   string // address for /healthz and /metrics; "" disables
	Logger   *slog.Logger

	metrics *metrics
	mu      sync.Mutex
	last    time.Time // last cycle that finished with every target ok
}

type metrics struct {
	registry      *prometheus.Registry
	runs          *prometheus.CounterVec
	events        *prometheus.CounterVec
	apiCalls      *prometheus.CounterVec
	retries       *prometheus.CounterVec
	disagreements *prometheus.CounterVec
	expired       *prometheus.CounterVec
	oversized     *prometheus.CounterVec
	lastSuccess   *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	label := []string{"region"}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_ingest_runs_total",
		Help: "Ingest cycles by target region and outcome (ok, failed, skipped)."}, []string{"region", "outcome"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_events_appended_total",
		Help: "Events appended to the archive."}, label)
	m.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_api_calls_total",
		Help: "DescribeSendFileResults HTTP calls, retries included."}, label)
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_api_retries_total",
		Help: "Retried API calls (throttling, 5xx, transport)."}, label)
	m.disagreements = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_aggregate_disagreements_total",
		Help: "Observations where the derived aggregate differed from the cloud's InvocationStatus."}, label)
	m.expired = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_source_expired_total",
		Help: "Invocations the source stopped listing (confirmed by lookup)."}, label)
	m.oversized = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archiver_oversized_records_total",
		Help: "Listed records with Content over 256 KiB or over 1,000 instances (archived whole)."}, label)
	m.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archiver_last_success_timestamp_seconds",
		Help: "Unix time of the last cycle that completed a full walk."}, label)
	m.registry.MustRegister(m.runs, m.events, m.apiCalls, m.retries, m.disagreements, m.expired, m.oversized, m.lastSuccess,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) record(results []ingest.Result) {
	for _, r := range results {
		region := r.Target.Region
		outcome := "ok"
		switch {
		case r.Skipped:
			outcome = "skipped"
		case r.Err != nil:
			outcome = "failed"
		}
		m.runs.WithLabelValues(region, outcome).Inc()
		m.events.WithLabelValues(region).Add(float64(r.Run.Events))
		m.apiCalls.WithLabelValues(region).Add(float64(r.Run.APICalls))
		m.retries.WithLabelValues(region).Add(float64(r.Run.Retries))
		m.disagreements.WithLabelValues(region).Add(float64(r.Run.Disagreements))
		m.expired.WithLabelValues(region).Add(float64(r.Run.Expired))
		m.oversized.WithLabelValues(region).Add(float64(r.Run.Oversized))
		if outcome == "ok" && r.Run.FinishedAt != nil {
			m.lastSuccess.WithLabelValues(region).Set(float64(r.Run.FinishedAt.Unix()))
		}
	}
}

// Run cycles once at start and then on the schedule, until ctx ends. A cycle
// in flight when ctx ends stops at its next step (the page transaction in
// flight rolls back) and Run returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sched, err := ParseSchedule(d.Schedule)
	if err != nil {
		return err
	}
	d.metrics = newMetrics()

	var srv *http.Server
	if d.Listen != "" {
		ln, err := net.Listen("tcp", d.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", d.Listen, err)
		}
		srv = &http.Server{Handler: d.handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics server stopped", "err", err)
			}
		}()
		logger.Info("serving /healthz and /metrics", "addr", ln.Addr().String())
	}

	cycle := func() {
		results, err := d.Runner.Once(ctx)
		d.metrics.record(results)
		if err == nil && ctx.Err() == nil {
			d.mu.Lock()
			d.last = time.Now()
			d.mu.Unlock()
		}
	}
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	c.Schedule(sched, cron.FuncJob(cycle))
	logger.Info("archiver running", "schedule", d.Schedule, "targets", len(d.Runner.Regions))
	cycle()
	c.Start()
	<-ctx.Done()
	logger.Info("shutting down")
	<-c.Stop().Done()
	if srv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	return nil
}

func (d *Daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		d.mu.Lock()
		last := d.last
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if last.IsZero() {
			fmt.Fprintln(w, `{"status":"starting"}`)
			return
		}
		fmt.Fprintf(w, "{\"status\":\"ok\",\"last_success\":%q}\n", last.UTC().Format(time.RFC3339))
	})
	return mux
}
