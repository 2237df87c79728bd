// Package harness wires the simulated cloud to an archive: a simulator served
// over HTTP on loopback, a credential for its key pair, and an ingest runner
// that archives from one into the other through the official SDK. The
// ingest, query and end-to-end tests, the benchmarks and the demo all use it,
// so the wiring exists once.
package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Cloud is one or more simulated accounts served on a loopback address.
type Cloud struct {
	Sim  *cloudsim.Sim // the first account
	Sims []*cloudsim.Sim
	URL  string
	srv  *http.Server
}

// Serve serves the simulators on 127.0.0.1 at a free port, all behind one
// endpoint (each request reaches the account whose key signed it).
func Serve(sims ...*cloudsim.Sim) (*Cloud, error) {
	if len(sims) == 0 {
		return nil, errors.New("harness: no simulator to serve")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("harness: listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: cloudsim.MultiAccount(sims...), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &Cloud{Sim: sims[0], Sims: sims, URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops serving.
func (c *Cloud) Close() { _ = c.srv.Close() }

// Credential returns a credential for an account's key pair: an STS
// credential when the simulator demands a security token, else an access
// key. It is what the standard chain would build from the environment.
func Credential(sim *cloudsim.Sim) (credentials.Credential, error) {
	cfg := sim.Config()
	typ := "access_key"
	conf := &credentials.Config{Type: &typ, AccessKeyId: &cfg.AccessKeyID, AccessKeySecret: &cfg.AccessKeySecret}
	if cfg.SecurityToken != "" {
		typ = "sts"
		conf.SecurityToken = &cfg.SecurityToken
	}
	cred, err := credentials.NewCredential(conf)
	if err != nil {
		return nil, fmt.Errorf("harness: credential for the simulator: %w", err)
	}
	return cred, nil
}

// API returns the client options that reach this cloud as sim's account.
func (c *Cloud) API(sim *cloudsim.Sim) (source.Options, error) {
	cred, err := Credential(sim)
	if err != nil {
		return source.Options{}, err
	}
	return source.Options{Endpoint: c.URL, Credential: cred}, nil
}

// Runner returns a runner that archives every region of sim's account into
// st, on the simulator's clock.
func (c *Cloud) Runner(sim *cloudsim.Sim, st *store.Store) (*ingest.Runner, error) {
	api, err := c.API(sim)
	if err != nil {
		return nil, err
	}
	// The simulator answers on loopback in microseconds and tests run
	// thousands of cycles back to back: the rate limit is lifted (its own
	// tests set one).
	return &ingest.Runner{Store: st, Regions: sim.Config().Regions, API: api, Clock: sim.Now, RateLimit: 1e6}, nil
}

// Poll advances sim's clock by every and runs one cycle of r, until the
// clock has moved by total. It stops at the first failed cycle.
func Poll(ctx context.Context, sim *cloudsim.Sim, r *ingest.Runner, total, every time.Duration) error {
	end := sim.Now().Add(total)
	for sim.Now().Before(end) {
		sim.Advance(every)
		if _, err := r.Once(ctx); err != nil {
			return fmt.Errorf("cycle at %s: %w", sim.Now().Format(time.RFC3339), err)
		}
	}
	return nil
}

// BuildArchive fills st with the archive of a simulated account that sent
// sendsPerDay files a day for days days, in one cycle at the end (every send
// finished by then), with retention long enough that nothing is evicted. It
// is how benchmarks get a large, realistic archive.
func BuildArchive(ctx context.Context, st *store.Store, seed int64, sendsPerDay float64, days int) (*cloudsim.Sim, error) {
	span := time.Duration(days) * 24 * time.Hour
	sim, err := cloudsim.New(cloudsim.Config{Seed: seed, SendsPerDay: sendsPerDay, FleetSize: 2000, Retention: span + 30*24*time.Hour})
	if err != nil {
		return nil, err
	}
	cloud, err := Serve(sim)
	if err != nil {
		return nil, err
	}
	defer cloud.Close()
	r, err := cloud.Runner(sim, st)
	if err != nil {
		return nil, err
	}
	sim.Advance(span)
	if _, err := r.Once(ctx); err != nil {
		return nil, fmt.Errorf("build archive: %w", err)
	}
	return sim, nil
}
