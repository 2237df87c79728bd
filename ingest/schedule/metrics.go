package schedule

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/store"
)

type metrics struct {
	registry      *prometheus.Registry
	runs          *prometheus.CounterVec
	events        *prometheus.CounterVec
	apiCalls      *prometheus.CounterVec
	retries       *prometheus.CounterVec
	disagreements *prometheus.CounterVec
	expired       *prometheus.CounterVec
	oversized     *prometheus.CounterVec
	headMisses    *prometheus.CounterVec
	lastSuccess   *prometheus.GaugeVec
	gapSeconds    *prometheus.GaugeVec
	staleAfter    prometheus.Gauge
}

// targetLabels name a target in every per-target metric.
var targetLabels = []string{"account", "region", "source"}

func labelsOf(t store.Target) []string { return []string{t.Account, t.Region, string(t.Source)} }

func newMetrics() *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	label := targetLabels
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m.runs = counter("archiver_ingest_runs_total", "Ingest cycles by target and outcome (ok, failed, interrupted, skipped).",
		append(append([]string{}, targetLabels...), "outcome"))
	m.events = counter("archiver_events_appended_total", "Events appended to the archive.", label)
	m.apiCalls = counter("archiver_api_calls_total", "API HTTP calls, retries included.", label)
	m.retries = counter("archiver_api_retries_total", "Retried API calls (throttling, 5xx, transport).", label)
	m.disagreements = counter("archiver_aggregate_disagreements_total",
		"Observations where the derived aggregate differed from the cloud's InvocationStatus.", label)
	m.expired = counter("archiver_source_expired_total", "Invocations the source stopped listing (confirmed by lookup).", label)
	m.oversized = counter("archiver_oversized_records_total",
		"Listed records with Content over 256 KiB or over 1,000 instances (archived whole).", label)
	m.headMisses = counter("archiver_head_walk_misses_total",
		"Sends a reconcile found that the head walks before it had missed; the target then walks in full every cycle.", label)
	m.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archiver_last_success_timestamp_seconds",
		Help: "Unix time of the last cycle that completed a full walk."}, label)
	m.gapSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archiver_coverage_gap_seconds",
		Help: "Total length of the periods in which the target's records may have been evicted unseen (archiver coverage). " +
			"A gap does not heal: 0 means none ever."}, label)
	m.staleAfter = prometheus.NewGauge(prometheus.GaugeOpts{Name: "archiver_stale_after_seconds",
		Help: "How old the last success may be before it is alarming: the configured fraction of the source's retention."})
	m.registry.MustRegister(m.runs, m.events, m.apiCalls, m.retries, m.disagreements, m.expired, m.oversized,
		m.headMisses, m.lastSuccess, m.gapSeconds, m.staleAfter, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

func (m *metrics) record(results []ingest.Result) {
	for _, r := range results {
		l := labelsOf(r.Target)
		outcome := r.Outcome()
		m.runs.WithLabelValues(append(l, string(outcome))...).Inc()
		m.events.WithLabelValues(l...).Add(float64(r.Run.Events))
		m.apiCalls.WithLabelValues(l...).Add(float64(r.Run.APICalls))
		m.retries.WithLabelValues(l...).Add(float64(r.Run.Retries))
		m.disagreements.WithLabelValues(l...).Add(float64(r.Run.Disagreements))
		m.expired.WithLabelValues(l...).Add(float64(r.Run.Expired))
		m.oversized.WithLabelValues(l...).Add(float64(r.Run.Oversized))
		m.headMisses.WithLabelValues(l...).Add(float64(r.Run.HeadWalkMisses))
		if outcome == model.RunOK && r.Run.FinishedAt != nil {
			m.lastSuccess.WithLabelValues(l...).Set(float64(r.Run.FinishedAt.Unix()))
		}
	}
}

// recordCoverage sets each target's gap gauge from its coverage.
func (m *metrics) recordCoverage(cov []query.TargetCoverage) {
	for _, c := range cov {
		m.gapSeconds.WithLabelValues(labelsOf(c.Target)...).Set(c.GapSeconds())
	}
}
