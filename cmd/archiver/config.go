package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/cloudassistant/sendfile-archive/ingest/schedule"
	"github.com/cloudassistant/sendfile-archive/model"
)

// config is what `ingest` and `run` need. It is built in one pipeline:
// defaults → config file → environment → flags the user set → Validate.
// Every key has an environment variable (ARCHIVER_ + the key in capitals)
// and a flag of the same name.
type config struct {
	Regions  []string `json:"regions"`
	Endpoint string   `json:"endpoint"`
	Schedule string   `json:"schedule"`
	Listen   string   `json:"listen"`
	Timeout  duration `json:"timeout"`
	// Checkpoints written by the daemon: a directory (empty: none), how
	// often, and the key to sign them with (empty: unsigned).
	CheckpointDir   string   `json:"checkpoint_dir"`
	CheckpointEvery duration `json:"checkpoint_every"`
	CheckpointKey   string   `json:"checkpoint_key"`
	// Contents is "store" (file bodies kept once per SHA-256) or "hashes"
	// (only their hashes, for sites that must not keep what was pushed).
	Contents string `json:"contents"`
	// Retention is the shortest time the sources keep a record (the newest
	// SDK documents one day); StaleFraction of it is how old the last
	// success may get before the shipped alert fires.
	// RateLimit is the API calls per second allowed per (account, region,
	// API); 0 means ingest.DefaultRateLimit.
	RateLimit float64 `json:"rate_limit"`
	// Concurrency is how many targets a cycle walks at once; 0 means
	// ingest.DefaultConcurrency.
	Concurrency int `json:"concurrency"`
	// ReconcileEvery is how often a target's whole listing is walked; the
	// cycles between are head walks (DESIGN.md §12). 0: always in full.
	ReconcileEvery duration `json:"reconcile_every"`
	Retention      duration `json:"retention"`
	StaleFraction  float64  `json:"stale_fraction"`
	// Accounts, from the config file only (DESIGN.md §11): each with its
	// own credentials, regions and sources. Empty: one account, the
	// credential chain's, over Regions.
	Accounts []accountConfig `json:"accounts"`
}

// accountConfig is one account of the config file. It names where its
// credentials come from, never the credentials themselves.
type accountConfig struct {
	Name       string   `json:"name"`        // stored as its targets' account
	Profile    string   `json:"profile"`     // a credentials profile (default: the standard chain)
	RoleARN    string   `json:"role_arn"`    // a RAM role to assume with those credentials
	ExternalID string   `json:"external_id"` // the role's external id, if its trust policy asks for one
	Regions    []string `json:"regions"`
	Sources    []string `json:"sources"` // default: ecs.DescribeSendFileResults
}

// duration reads "30s"-style strings from JSON.
type duration struct{ time.Duration }

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("want a duration string such as \"15s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func defaultConfig() config {
	return config{Schedule: "*/10 * * * *", Listen: ":9090", Timeout: duration{15 * time.Second},
		CheckpointEvery: duration{24 * time.Hour}, Contents: "store", Retention: duration{24 * time.Hour}, StaleFraction: 0.5,
		ReconcileEvery: duration{time.Hour}}
}

// fieldError names the config field that is wrong and keeps why.
type fieldError struct {
	field string
	err   error
}

func (e fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e fieldError) Unwrap() error { return e.err }

func fieldErrorf(field, format string, args ...any) error {
	return fieldError{field, fmt.Errorf(format, args...)}
}

// loadFile merges a YAML config file (JSON is YAML too) over c. Only the
// keys present change. The YAML is read as plain data and decoded through
// the same JSON field names as everything else, unknown keys refused.
func (c *config) loadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fieldError{"config", err}
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return usageError{fieldError{"config", fmt.Errorf("%s: %w", path, err)}}
	}
	if doc == nil {
		return nil // an empty file changes nothing
	}
	asJSON, err := json.Marshal(doc)
	if err != nil {
		return usageError{fieldError{"config", fmt.Errorf("%s: keys must be strings: %w", path, err)}}
	}
	dec := json.NewDecoder(strings.NewReader(string(asJSON)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return usageError{fieldError{"config", fmt.Errorf("%s: %w", path, err)}}
	}
	return nil
}

// loadEnv merges ARCHIVER_* variables over c.
func (c *config) loadEnv() error {
	if v := os.Getenv("ARCHIVER_REGIONS"); v != "" {
		c.Regions = splitList(v)
	}
	if v, ok := os.LookupEnv("ARCHIVER_ENDPOINT"); ok {
		c.Endpoint = v
	}
	if v, ok := os.LookupEnv("ARCHIVER_SCHEDULE"); ok {
		c.Schedule = v
	}
	if v, ok := os.LookupEnv("ARCHIVER_LISTEN"); ok {
		c.Listen = v
	}
	if v, ok := os.LookupEnv("ARCHIVER_CHECKPOINT_DIR"); ok {
		c.CheckpointDir = v
	}
	if v, ok := os.LookupEnv("ARCHIVER_CONTENTS"); ok {
		c.Contents = v
	}
	if v, ok := os.LookupEnv("ARCHIVER_CHECKPOINT_KEY"); ok {
		c.CheckpointKey = v
	}
	if v, ok := os.LookupEnv("ARCHIVER_RATE_LIMIT"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return usageError{fieldErrorf("rate_limit", "ARCHIVER_RATE_LIMIT %q is not a number of calls per second such as 20", v)}
		}
		c.RateLimit = f
	}
	if v, ok := os.LookupEnv("ARCHIVER_CONCURRENCY"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return usageError{fieldErrorf("concurrency", "ARCHIVER_CONCURRENCY %q is not a number of targets such as 4", v)}
		}
		c.Concurrency = n
	}
	if v, ok := os.LookupEnv("ARCHIVER_STALE_FRACTION"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return usageError{fieldErrorf("stale_fraction", "ARCHIVER_STALE_FRACTION %q is not a number such as 0.5", v)}
		}
		c.StaleFraction = f
	}
	for _, d := range []struct {
		env, field string
		dst        *time.Duration
	}{{"ARCHIVER_TIMEOUT", "timeout", &c.Timeout.Duration}, {"ARCHIVER_CHECKPOINT_EVERY", "checkpoint_every", &c.CheckpointEvery.Duration},
		{"ARCHIVER_RETENTION", "retention", &c.Retention.Duration},
		{"ARCHIVER_RECONCILE_EVERY", "reconcile_every", &c.ReconcileEvery.Duration}} {
		v, ok := os.LookupEnv(d.env)
		if !ok {
			continue
		}
		parsed, err := time.ParseDuration(v)
		if err != nil {
			return usageError{fieldErrorf(d.field, "%s %q is not a duration such as 15s", d.env, v)}
		}
		*d.dst = parsed
	}
	return nil
}

// configFlags are the flags `ingest` and `run` share. A flag overrides the
// file and the environment only when given, so every value, zero included,
// can be set and means what it says.
type configFlags struct {
	daemon                                    bool
	file, regions, endpoint, schedule, listen string
	timeout, checkpointEvery, retention       time.Duration
	reconcileEvery                            time.Duration
	staleFraction, rateLimit                  float64
	concurrency                               int
	checkpointDir, checkpointKey, contents    string
}

func (f *configFlags) register(cmd *cobra.Command, daemon bool) {
	f.daemon = daemon
	fl := cmd.Flags()
	fl.StringVar(&f.file, "config", "", "YAML (or JSON) config file: accounts, regions, endpoint, schedule, listen, timeout (default $ARCHIVER_CONFIG)")
	fl.StringVar(&f.regions, "regions", "", "comma-separated region ids to archive (default $ARCHIVER_REGIONS)")
	fl.StringVar(&f.endpoint, "endpoint", "", "API endpoint URL instead of each product's public endpoint, e.g. http://127.0.0.1:8099 (default $ARCHIVER_ENDPOINT)")
	fl.DurationVar(&f.timeout, "timeout", 0, "timeout of one API call (default $ARCHIVER_TIMEOUT or 15s)")
	fl.Float64Var(&f.rateLimit, "rate-limit", 0, "API calls per second per account, region and API (default $ARCHIVER_RATE_LIMIT or 20)")
	fl.DurationVar(&f.reconcileEvery, "reconcile-every", 0,
		"walk each target's whole listing this often, only its head and unfinished sends between; 0: always in full (default $ARCHIVER_RECONCILE_EVERY or 1h)")
	fl.IntVar(&f.concurrency, "concurrency", 0, "targets walked at once (default $ARCHIVER_CONCURRENCY or 4)")
	fl.StringVar(&f.contents, "contents", "", "store: keep file bodies; hashes: keep only their SHA-256 (default $ARCHIVER_CONTENTS or store)")
	if daemon {
		fl.StringVar(&f.schedule, "schedule", "", "cron schedule, e.g. \"*/10 * * * *\" or \"@every 5m\" (default $ARCHIVER_SCHEDULE or */10 * * * *)")
		fl.StringVar(&f.listen, "listen", "", "address for /healthz and /metrics; \"off\" disables (default $ARCHIVER_LISTEN or :9090)")
		fl.StringVar(&f.checkpointDir, "checkpoint-dir", "", "write a checkpoint into this directory on a schedule (default $ARCHIVER_CHECKPOINT_DIR; none)")
		fl.DurationVar(&f.checkpointEvery, "checkpoint-every", 0, "how often to write a checkpoint (default $ARCHIVER_CHECKPOINT_EVERY or 24h)")
		fl.StringVar(&f.checkpointKey, "checkpoint-key", "", "Ed25519 private key to sign checkpoints with (default $ARCHIVER_CHECKPOINT_KEY; unsigned)")
		fl.DurationVar(&f.retention, "retention", 0, "the shortest time the sources keep a record, for the staleness alert (default $ARCHIVER_RETENTION or 24h)")
		fl.Float64Var(&f.staleFraction, "stale-fraction", 0, "alert when the last success is older than this fraction of the retention (default $ARCHIVER_STALE_FRACTION or 0.5)")
	}
}

// build runs the config pipeline for cmd.
func (f *configFlags) build(cmd *cobra.Command) (config, error) {
	cfg := defaultConfig()
	file := firstNonEmpty(f.file, os.Getenv("ARCHIVER_CONFIG"))
	if file != "" {
		if err := cfg.loadFile(file); err != nil {
			return cfg, err
		}
	}
	if err := cfg.loadEnv(); err != nil {
		return cfg, err
	}
	set := cmd.Flags().Changed
	if set("regions") {
		cfg.Regions = splitList(f.regions)
	}
	if set("endpoint") {
		cfg.Endpoint = f.endpoint
	}
	if set("timeout") {
		cfg.Timeout.Duration = f.timeout
	}
	if set("contents") {
		cfg.Contents = f.contents
	}
	if set("rate-limit") {
		cfg.RateLimit = f.rateLimit
	}
	if set("concurrency") {
		cfg.Concurrency = f.concurrency
	}
	if set("reconcile-every") {
		cfg.ReconcileEvery.Duration = f.reconcileEvery
	}
	if f.daemon && set("schedule") {
		cfg.Schedule = f.schedule
	}
	if f.daemon && set("listen") {
		cfg.Listen = f.listen
	}
	if f.daemon && set("checkpoint-dir") {
		cfg.CheckpointDir = f.checkpointDir
	}
	if f.daemon && set("checkpoint-every") {
		cfg.CheckpointEvery.Duration = f.checkpointEvery
	}
	if f.daemon && set("checkpoint-key") {
		cfg.CheckpointKey = f.checkpointKey
	}
	if f.daemon && set("retention") {
		cfg.Retention.Duration = f.retention
	}
	if f.daemon && set("stale-fraction") {
		cfg.StaleFraction = f.staleFraction
	}
	if cfg.Listen == "off" {
		cfg.Listen = ""
	}
	return cfg, cfg.Validate(f.daemon)
}

var regionRE = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// Validate checks every field and returns all problems, each naming its field.
func (c config) Validate(daemon bool) error {
	var errs []error
	switch {
	case len(c.Accounts) > 0 && len(c.Regions) > 0:
		errs = append(errs, fieldErrorf("regions", "the config file lists accounts: give each account its regions there, not --regions"))
	case len(c.Accounts) > 0:
		errs = append(errs, validateAccounts(c.Accounts)...)
	case len(c.Regions) == 0:
		errs = append(errs, fieldErrorf("regions", "no regions to archive: pass --regions cn-hangzhou,... or set ARCHIVER_REGIONS"))
	default:
		errs = append(errs, validateRegions("regions", c.Regions)...)
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			errs = append(errs, fieldErrorf("endpoint", "%q is not a URL such as http://127.0.0.1:8099", c.Endpoint))
		}
	}
	if daemon {
		if _, err := schedule.ParseSchedule(c.Schedule); err != nil {
			errs = append(errs, fieldError{"schedule", fmt.Errorf("%q is not a cron spec such as \"*/10 * * * *\" or \"@every 5m\": %w", c.Schedule, err)})
		}
	}
	if daemon && c.CheckpointEvery.Duration <= 0 {
		errs = append(errs, fieldErrorf("checkpoint_every", "%s is not a usable interval: it must be positive", c.CheckpointEvery.Duration))
	}
	if c.CheckpointKey != "" && c.CheckpointDir == "" {
		errs = append(errs, fieldErrorf("checkpoint_key", "is set, but checkpoint_dir is not: there is nowhere to write signed checkpoints"))
	}
	if c.Contents != "store" && c.Contents != "hashes" {
		errs = append(errs, fieldErrorf("contents", "%q is neither store nor hashes", c.Contents))
	}
	if c.RateLimit < 0 {
		errs = append(errs, fieldErrorf("rate_limit", "%g calls per second: it cannot be negative (0 means the default)", c.RateLimit))
	}
	if c.ReconcileEvery.Duration < 0 {
		errs = append(errs, fieldErrorf("reconcile_every", "%s: it cannot be negative (0 means every cycle walks in full)", c.ReconcileEvery.Duration))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fieldErrorf("concurrency", "%d targets at once: it cannot be negative (0 means the default)", c.Concurrency))
	}
	if c.Retention.Duration <= 0 {
		errs = append(errs, fieldErrorf("retention", "%s is not a usable retention: it must be positive", c.Retention.Duration))
	}
	if c.StaleFraction <= 0 || c.StaleFraction >= 1 {
		errs = append(errs, fieldErrorf("stale_fraction", "%g is not a fraction of the retention between 0 and 1", c.StaleFraction))
	}
	if c.Timeout.Duration <= 0 {
		errs = append(errs, fieldErrorf("timeout", "%s is not a usable API call timeout: it must be positive", c.Timeout.Duration))
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	return nil
}

// validateRegions checks a list of region ids.
func validateRegions(field string, regions []string) []error {
	var errs []error
	seen := map[string]bool{}
	for _, r := range regions {
		if !regionRE.MatchString(r) {
			errs = append(errs, fieldErrorf(field, "%q is not a region id such as cn-hangzhou", r))
		}
		if seen[r] {
			errs = append(errs, fieldErrorf(field, "%q is listed twice", r))
		}
		seen[r] = true
	}
	return errs
}

// validateAccounts checks the config file's accounts, naming each problem's
// account by its position and name.
func validateAccounts(accounts []accountConfig) []error {
	var errs []error
	names := map[string]bool{}
	for i, a := range accounts {
		field := fmt.Sprintf("accounts[%d]", i)
		if a.Name != "" {
			field += " (" + a.Name + ")"
		}
		switch {
		case strings.TrimSpace(a.Name) == "" || a.Name != strings.TrimSpace(a.Name):
			errs = append(errs, fieldErrorf(field, "needs a name without surrounding spaces (stored as its targets' account)"))
		case names[a.Name]:
			errs = append(errs, fieldErrorf(field, "the name %q is used twice", a.Name))
		}
		names[a.Name] = true
		if len(a.Regions) == 0 {
			errs = append(errs, fieldErrorf(field+".regions", "no regions to archive"))
		}
		errs = append(errs, validateRegions(field+".regions", a.Regions)...)
		for _, src := range a.Sources {
			if _, err := model.RulesFor(model.SourceID(src)); err != nil {
				errs = append(errs, fieldErrorf(field+".sources", "%v", err))
			}
		}
		if a.RoleARN == "" && a.ExternalID != "" {
			errs = append(errs, fieldErrorf(field+".external_id", "is set without role_arn"))
		}
		if a.RoleARN != "" && (!strings.HasPrefix(a.RoleARN, "acs:ram::") || !strings.Contains(a.RoleARN, ":role/")) {
			errs = append(errs, fieldErrorf(field+".role_arn", "%q is not a role ARN such as acs:ram::1234567890123456:role/archiver-read", a.RoleARN))
		}
	}
	return errs
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
