package report_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cloudassistant/sendfile-archive/cloudsim"
	"github.com/cloudassistant/sendfile-archive/harness"
	"github.com/cloudassistant/sendfile-archive/query"
	"github.com/cloudassistant/sendfile-archive/report"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// chromium finds Debian's Chromium; a machine without it fails the test
// with a sentence (CI installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the HTML report is checked as people see it, in headless Chromium: install it (apt-get install chromium)")
	return ""
}

// periodReport builds a small archive and its period report.
func periodReport(t *testing.T) query.PeriodReport {
	t.Helper()
	sim, err := cloudsim.New(cloudsim.Config{Seed: 61, SendsPerDay: 40})
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := harness.Serve(sim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cloud.Close)
	st := storetest.New(t)
	r, err := cloud.Runner(sim, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.Poll(context.Background(), sim, r, 8*24*time.Hour, 12*time.Hour); err != nil {
		t.Fatal(err)
	}
	start := sim.Config().Start
	rep, err := (&query.Querier{Store: st}).Period(context.Background(), start, start.Add(7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sends == 0 || len(rep.Days) < 6 || len(rep.ErrorCodes) == 0 {
		t.Fatalf("the archive is too small to exercise the report: %+v", rep)
	}
	return rep
}

// The HTML report is rendered by Chromium as a reader sees it: the totals
// are on the page (in its rendered text), both charts are drawn with bars of
// real size, and nothing is fetched from the network.
func TestHTMLReportRendersInChromium(t *testing.T) {
	bin := chromium(t)
	rep := periodReport(t)
	var page bytes.Buffer
	if err := report.HTML(&page, rep); err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page.Bytes())
	}))
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 1400))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible("#sends-per-day")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	eval := func(expr string) float64 {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](expr))
		if err != nil {
			t.Fatalf("chromium: %s: %v", expr, err)
		}
		return v
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dayBars := int(eval(`[...document.querySelectorAll('#sends-per-day rect')].filter(r => r.getBoundingClientRect().height > 0).length`))
	errBars := int(eval(`[...document.querySelectorAll('#top-error-codes rect')].filter(r => r.getBoundingClientRect().width > 0).length`))
	dayWidth := eval(`document.querySelector('#sends-per-day').getBoundingClientRect().width`)
	errWidth := eval(`document.querySelector('#top-error-codes').getBoundingClientRect().width`)
	resources := int(eval(`performance.getEntriesByType('resource').length`))
	if !strings.Contains(text, strconv.FormatInt(rep.Sends, 10)+" sends") || !strings.Contains(text, "Coverage") {
		t.Errorf("the rendered page does not show the total of %d sends:\n%s", rep.Sends, text)
	}
	for status, n := range rep.ByStatus {
		if !strings.Contains(text, string(status)+"\t"+strconv.FormatInt(n, 10)) {
			t.Errorf("the rendered page does not show %s %d", status, n)
		}
	}
	if dayBars < len(rep.Days) || errBars != len(rep.ErrorCodes) || dayWidth < 400 || errWidth < 400 {
		t.Errorf("charts not drawn: %d day bars for %d days (%.0f px wide), %d error bars for %d codes (%.0f px wide)",
			dayBars, len(rep.Days), dayWidth, errBars, len(rep.ErrorCodes), errWidth)
	}
	if resources != 0 || served.Load() != 1 {
		t.Errorf("the page loaded %d resources (%d requests to the server): it must be self-contained", resources, served.Load())
	}
}
