package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/ingest"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// Secrets every child process is given and must never print.
const (
	accessKeySecret = "e2e-secret-Zq81vX"
	securityToken   = "e2e-sts-token-Hh29Lp"
	dbPassword      = "pgtdbpass" // pgtestdb's role password, part of every test URL
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "archiver-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "archiver")
	build := exec.Command("go", "build", "-o", binary, "../cmd/archiver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build archiver:", err)
		os.Exit(1)
	}
	code := storetest.Main(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// cloud is a simulator on loopback that knows the test's secrets.
type cloud struct {
	sim   *cloudsim.Sim
	url   string
	serve *harness.Cloud
}

func newCloud(t *testing.T, cfg cloudsim.Config) *cloud {
	t.Helper()
	cfg.AccessKeySecret = accessKeySecret
	cfg.SecurityToken = securityToken
	sim, err := cloudsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	serve, err := harness.Serve(sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(serve.Close)
	return &cloud{sim: sim, url: serve.URL, serve: serve}
}

// runner is an in-process archiver for the reference (uninterrupted) runs.
func (c *cloud) runner(t *testing.T, st *store.Store) *ingest.Runner {
	t.Helper()
	r, err := c.serve.Runner(c.sim, st)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// child is one archiver process.
type child struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start launches `archiver args...` with the database and the cloud's
// credentials in its environment, as an operator would.
func start(t *testing.T, dbURL string, c *cloud, args ...string) *child {
	t.Helper()
	return startEnv(t, dbURL, c, nil, args...)
}

// startEnv is start with extra environment entries, which override the usual
// ones (os/exec keeps the last value of a duplicated key).
func startEnv(t *testing.T, dbURL string, c *cloud, extra []string, args ...string) *child {
	t.Helper()
	cfg := c.sim.Config()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+cfg.AccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET="+accessKeySecret,
		"ALIBABA_CLOUD_SECURITY_TOKEN="+securityToken,
		"ARCHIVER_ENDPOINT="+c.url,
		"ARCHIVER_REGIONS="+strings.Join(cfg.Regions, ","),
	)
	cmd.Env = append(cmd.Env, extra...)
	ch := &child{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = ch.out, ch.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { ch.err = cmd.Wait(); close(ch.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-ch.done
		assertNoSecrets(t, args, ch.out.String())
	})
	return ch
}

// wait waits for the child to exit and returns its exit code (-1 when killed
// by a signal).
func (ch *child) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-ch.done:
	case <-time.After(limit):
		t.Fatalf("archiver did not exit within %s; output:\n%s", limit, ch.out.String())
	}
	return ch.cmd.ProcessState.ExitCode()
}

func (ch *child) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := ch.cmd.Process.Signal(sig); err != nil && !strings.Contains(err.Error(), "finished") {
		t.Fatal(err)
	}
}

func assertNoSecrets(t *testing.T, args []string, out string) {
	for _, s := range []string{accessKeySecret, securityToken, dbPassword} {
		if strings.Contains(out, s) {
			t.Errorf("archiver %v printed a secret (%.6s…):\n%s", args, s, out)
		}
	}
}

// ingestOnce runs `archiver ingest --once` to completion, retrying while a
// killed predecessor's lease has not yet been released by PostgreSQL.
func ingestOnce(t *testing.T, dbURL string, c *cloud) { ingestOnceEnv(t, dbURL, c, nil) }

// ingestOnceEnv is ingestOnce with extra environment entries.
func ingestOnceEnv(t *testing.T, dbURL string, c *cloud, extra []string) {
	t.Helper()
	for attempt := 0; attempt < 100; attempt++ {
		ch := startEnv(t, dbURL, c, extra, "ingest", "--once")
		code := ch.wait(t, 2*time.Minute)
		out := ch.out.String()
		if code == 0 && !strings.Contains(out, "skipped") {
			return
		}
		if code != 0 {
			t.Fatalf("ingest --once exited %d:\n%s", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the lease was never released")
}

// fingerprint is a canonical digest of the event log that ignores only what
// legitimately differs between runs: run ids, recording times and row ids.
func fingerprint(t *testing.T, dbURL string) (string, int) {
	t.Helper()
	return storetest.Fingerprint(t, dbURL)
}

// diffLogs names the first event where two archives differ, for a readable
// failure.
func diffLogs(t *testing.T, a, b string) string {
	t.Helper()
	if d := storetest.FirstDifference(storetest.Log(t, a), storetest.Log(t, b)); d != "" {
		return d
	}
	return "no event differs"
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}
