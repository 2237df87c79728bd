package cloudsim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	openapiutil "github.com/alibabacloud-go/openapi-util/service"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
)

type (
	invocation = ecs.DescribeSendFileResultsResponseBodyInvocationsInvocation
	request    = ecs.DescribeSendFileResultsRequest
)

// newSim builds a simulator from the defaults plus the test's tweaks.
func newSim(t testing.TB, tweak func(*Config)) *Sim {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Seed = 20260105
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// serve starts an httptest server for s and returns its host:port.
func serve(t testing.TB, s *Sim) string {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

type creds struct{ ak, secret, token string }

var defaultCreds = creds{defaultAccessKeyID, defaultAccessKeySecret, ""}

// newClient builds the official SDK client against the simulator.
func newClient(t testing.TB, endpoint string, c creds) *ecs.Client {
	t.Helper()
	cfg := &openapi.Config{
		AccessKeyId:     tea.String(c.ak),
		AccessKeySecret: tea.String(c.secret),
		Endpoint:        tea.String(endpoint),
		Protocol:        tea.String("HTTP"),
		RegionId:        tea.String("cn-hangzhou"),
	}
	if c.token != "" {
		cfg.SecurityToken = tea.String(c.token)
	}
	client, err := ecs.NewClient(cfg)
	if err != nil {
		t.Fatalf("ecs.NewClient: %v", err)
	}
	return client
}

// sdkError extracts the cloud's error code and HTTP status from an SDK error.
func sdkError(t testing.TB, err error) (code string, status int) {
	t.Helper()
	var se *tea.SDKError
	if !errors.As(err, &se) {
		t.Fatalf("want *tea.SDKError, got %T: %v", err, err)
	}
	return tea.StringValue(se.Code), tea.IntValue(se.StatusCode)
}

// walkTokens pages through DescribeSendFileResults with MaxResults and
// NextToken, calling between after every page that has a successor.
func walkTokens(t testing.TB, c *ecs.Client, base request, max int32, between func()) (all []*invocation, pages int) {
	t.Helper()
	token := ""
	for {
		req := base
		req.MaxResults = tea.Int32(max)
		if token != "" {
			req.NextToken = tea.String(token)
		}
		resp, err := c.DescribeSendFileResults(&req)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		invs := resp.Body.Invocations.Invocation
		if len(invs) > int(max) {
			t.Fatalf("page %d: %d records, MaxResults %d", pages, len(invs), max)
		}
		all = append(all, invs...)
		token = tea.StringValue(resp.Body.NextToken)
		if token == "" {
			return all, pages
		}
		if pages > 10000 {
			t.Fatal("NextToken walk does not terminate")
		}
		if between != nil {
			between()
		}
	}
}

// listedTruth returns the sends the API should list in region right now,
// newest first, derived only from the public ground truth.
func listedTruth(s *Sim, region string) []SendTruth {
	var out []SendTruth
	for _, st := range s.Sends() {
		if st.Region == region && s.Listed(region, st.InvokeID) {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.CreationTime.Equal(b.CreationTime) {
			return a.CreationTime.After(b.CreationTime)
		}
		return a.InvokeID > b.InvokeID
	})
	return out
}

func ids(invs []*invocation) []string {
	out := make([]string, len(invs))
	for i, inv := range invs {
		out[i] = tea.StringValue(inv.InvokeId)
	}
	return out
}

func truthIDs(sts []SendTruth) []string {
	out := make([]string, len(sts))
	for i, st := range sts {
		out[i] = st.InvokeID
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// signedRequest builds a request signed by openapi-util's GetAuthorization,
// the very function the SDK uses, so raw-HTTP tests exercise the same
// signature while keeping control over every header and parameter.
func signedRequest(t testing.TB, host string, query map[string]string, c creds, mutate func(h map[string]*string)) *http.Request {
	t.Helper()
	sum := sha256.Sum256(nil)
	hashed := hex.EncodeToString(sum[:])
	treq := tea.NewRequest()
	treq.Method = tea.String("POST")
	treq.Pathname = tea.String("/")
	treq.Query = map[string]*string{}
	vals := url.Values{}
	for k, v := range query {
		treq.Query[k] = tea.String(v)
		vals.Set(k, v)
	}
	treq.Headers = map[string]*string{
		"host":                  tea.String(host),
		"x-acs-action":          tea.String(apiAction),
		"x-acs-version":         tea.String(apiVersion),
		"x-acs-date":            tea.String(time.Now().UTC().Format(time.RFC3339)),
		"x-acs-signature-nonce": util.GetNonce(),
		"x-acs-content-sha256":  tea.String(hashed),
		"accept":                tea.String("application/json"),
	}
	if c.token != "" {
		treq.Headers["x-acs-security-token"] = tea.String(c.token)
	}
	if mutate != nil {
		mutate(treq.Headers)
	}
	auth := openapiutil.GetAuthorization(treq, tea.String(signatureAlgorithm), tea.String(hashed), tea.String(c.ak), tea.String(c.secret))
	r := httptest.NewRequest(http.MethodPost, "http://"+host+"/?"+vals.Encode(), nil)
	for k, v := range treq.Headers {
		if k != "host" {
			r.Header.Set(k, tea.StringValue(v))
		}
	}
	r.Header.Set("Authorization", tea.StringValue(auth))
	return r
}

// do runs a request straight through the handler, skipping the network.
func do(s *Sim, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

func mustParseTime(t testing.TB, field, v string) time.Time {
	t.Helper()
	got, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		t.Fatalf("%s: %q does not parse: %v", field, v, err)
	}
	return got
}
