package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/cloudassistant/sendfile-archive/ingest/schedule"
)

// config is what `ingest` and `run` need. It is built in one pipeline:
// defaults → config file → environment → flags → Validate.
type config struct {
	Regions  []string `json:"regions"`
	Endpoint string   `json:"endpoint"`
	Schedule string   `json:"schedule"`
	Listen   string   `json:"listen"`
	Timeout  duration `json:"timeout"`
}

// duration reads "30s"-style strings from JSON.
type duration struct{ time.Duration }

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"15s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func defaultConfig() config {
	return config{Schedule: "*/10 * * * *", Listen: ":9090", Timeout: duration{15 * time.Second}}
}

// loadFile merges a JSON config file over c. Only the keys present change.
func (c *config) loadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return usagef("config file %s: %v", path, err)
	}
	return nil
}

// loadEnv merges ARCHIVER_* variables over c.
func (c *config) loadEnv() {
	if v := os.Getenv("ARCHIVER_REGIONS"); v != "" {
		c.Regions = splitList(v)
	}
	if v := os.Getenv("ARCHIVER_ENDPOINT"); v != "" {
		c.Endpoint = v
	}
	if v := os.Getenv("ARCHIVER_SCHEDULE"); v != "" {
		c.Schedule = v
	}
	if v := os.Getenv("ARCHIVER_LISTEN"); v != "" {
		c.Listen = v
	}
}

var regionRE = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// fieldError names the config field that is wrong.
type fieldError struct{ field, msg string }

func (e fieldError) Error() string { return e.field + ": " + e.msg }

// Validate checks every field and returns all problems, each naming its field.
func (c config) Validate(needSchedule bool) error {
	var errs []error
	if len(c.Regions) == 0 {
		errs = append(errs, fieldError{"regions", "no regions to archive: pass --regions cn-hangzhou,... or set ARCHIVER_REGIONS"})
	}
	seen := map[string]bool{}
	for _, r := range c.Regions {
		if !regionRE.MatchString(r) {
			errs = append(errs, fieldError{"regions", fmt.Sprintf("%q is not a region id such as cn-hangzhou", r)})
		}
		if seen[r] {
			errs = append(errs, fieldError{"regions", fmt.Sprintf("%q is listed twice", r)})
		}
		seen[r] = true
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			errs = append(errs, fieldError{"endpoint", fmt.Sprintf("%q is not a URL such as http://127.0.0.1:8099", c.Endpoint)})
		}
	}
	if needSchedule {
		if _, err := schedule.ParseSchedule(c.Schedule); err != nil {
			errs = append(errs, fieldError{"schedule", fmt.Sprintf("%q is not a cron spec such as \"*/10 * * * *\" or \"@every 5m\"", c.Schedule)})
		}
	}
	if c.Timeout.Duration <= 0 {
		errs = append(errs, fieldError{"timeout", "must be positive"})
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...).Error()}
	}
	return nil
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
