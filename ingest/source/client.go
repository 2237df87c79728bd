package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	openapiutil "github.com/alibabacloud-go/openapi-util/service"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"
	"github.com/sethvargo/go-retry"

	"github.com/cloudassistant/sendfile-archive/model"
)

// MaxResults is the page size the archive asks for: the API's maximum.
const MaxResults = 50

// Options configure a Client. The zero value means: the region's public
// endpoint, the standard credential chain, and the default retry policy.
type Options struct {
	// Endpoint is an http:// or https:// URL that replaces the region's public
	// endpoint (a simulator, a private endpoint or a proxy).
	Endpoint string
	// Credential overrides the standard Alibaba Cloud credential chain
	// (environment, profile, RAM role); tests and embedders use it.
	Credential credentials.Credential
	// Timeout bounds one HTTP call (default 15s).
	Timeout time.Duration
	// Retry bounds retries of throttling, 5xx and transport errors.
	Retry RetryPolicy
	// Limiter, when set, is the token bucket every call of the client takes
	// a token from (one per account, region and API; see Limiter).
	Limiter *Limiter
}

// RetryPolicy is capped exponential backoff with jitter.
type RetryPolicy struct {
	MaxRetries int           // failures retried per call, throttling not counted (default 6)
	Base       time.Duration // first delay (default 250ms)
	Cap        time.Duration // longest single delay (default 20s)
	MaxElapsed time.Duration // give up on a call after this long (default 2m)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxRetries == 0 {
		p.MaxRetries = 6
	}
	if p.Base == 0 {
		p.Base = 250 * time.Millisecond
	}
	if p.Cap == 0 {
		p.Cap = 20 * time.Second
	}
	if p.MaxElapsed == 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	return p
}

// Stats counts what a call cost: HTTP requests made and how many were retries.
type Stats struct {
	Calls   int
	Retries int
}

// caller is the SDK's generic call, which the ECS client and the plain
// OpenAPI client (EFLO has no Go SDK) both offer.
type caller interface {
	CallApi(params *openapi.Params, req *openapi.OpenApiRequest, rt *util.RuntimeOptions) (map[string]any, error)
}

// API describes one listing API a Client calls: its action and version,
// how its bodies read into the common model, and the names of its filters.
type API struct {
	Source  model.SourceID
	Action  string
	Version string
	// Parse reads one response body.
	Parse func(body []byte) (Page, error)
	// StatusFilter is the request parameter that filters the listing by a
	// task's overall status.
	StatusFilter string
}

// SendFileAPI is ECS DescribeSendFileResults.
var SendFileAPI = API{Source: model.SourceSendFileResults, Action: "DescribeSendFileResults", Version: "2014-05-26",
	Parse: ParsePage, StatusFilter: "InvocationStatus"}

// CommandsAPI is ECS DescribeInvocations (Cloud Assistant command runs).
var CommandsAPI = API{Source: model.SourceCommands, Action: "DescribeInvocations", Version: "2014-05-26",
	Parse: ParseCommandPage, StatusFilter: "InvokeStatus"}

// Client lists one region's records of one API through the official SDK.
type Client struct {
	sdks    *sdkPool // one SDK client per call in flight
	api     API
	region  string
	timeout time.Duration
	retry   RetryPolicy
	limiter *Limiter
}

// NewClient builds an SDK client for region's send-file results.
func NewClient(region string, opts Options) (*Client, error) {
	return NewAPIClient(SendFileAPI, region, opts)
}

// NewAPIClient builds an ECS SDK client for one of ECS's listing APIs.
func NewAPIClient(api API, region string, opts Options) (*Client, error) {
	if strings.TrimSpace(region) == "" {
		return nil, errors.New("region is empty")
	}
	cfg, err := opts.openapiConfig()
	if err != nil {
		return nil, err
	}
	cfg.RegionId = tea.String(region)
	return pooledClient(ecs.NewClient, cfg, "ECS", api, region, opts)
}

// pooledClient builds a client that calls through SDK clients newSDK makes
// from cfg, one per call in flight (see sdkPool). The first is made at
// once, so a bad configuration fails here rather than on every call.
func pooledClient[S caller](newSDK func(*openapi.Config) (S, error), cfg *openapi.Config, product string, api API,
	region string, opts Options) (*Client, error) {
	build := func() (caller, error) {
		sdk, err := newSDK(cfg)
		if err != nil {
			return nil, fmt.Errorf("create %s client for %s: %w", product, region, err)
		}
		return sdk, nil
	}
	if _, err := build(); err != nil {
		return nil, err
	}
	return newPooledClient(build, api, region, opts), nil
}

// newClient builds a client whose every call goes through sdk, which must
// be safe for concurrent calls (tests' fakes).
func newClient(sdk caller, api API, region string, opts Options) *Client {
	return newPooledClient(func() (caller, error) { return sdk, nil }, api, region, opts)
}

// newPooledClient builds a client that calls through SDK clients from
// build, one per call in flight (see sdkPool).
func newPooledClient(build func() (caller, error), api API, region string, opts Options) *Client {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	return &Client{sdks: newSDKPool(build), api: api, region: region, timeout: timeout, retry: opts.Retry.withDefaults(),
		limiter: opts.Limiter}
}

// ForSource builds the client of a listed source.
func ForSource(src model.SourceID, region string, opts Options) (*Client, error) {
	switch src {
	case model.SourceSendFileResults:
		return NewAPIClient(SendFileAPI, region, opts)
	case model.SourceCommands:
		return NewAPIClient(CommandsAPI, region, opts)
	}
	return nil, fmt.Errorf("source %s cannot be listed by this version", src)
}

// ListPage fetches one page of the full listing, newest first. An empty token
// asks for the first page.
func (c *Client) ListPage(ctx context.Context, nextToken string) (Page, Stats, error) {
	return c.call(ctx, c.listQuery("", nextToken))
}

// ListStatus fetches one page of the listing of the sends whose overall
// status (InvocationStatus) is status: how a head walk refreshes the
// unfinished sends without walking the finished ones.
func (c *Client) ListStatus(ctx context.Context, status model.Status, nextToken string) (Page, Stats, error) {
	return c.call(ctx, c.listQuery(status, nextToken))
}

func (c *Client) listQuery(status model.Status, nextToken string) map[string]any {
	q := map[string]any{"RegionId": c.region, "MaxResults": MaxResults}
	if status != "" {
		q[c.api.StatusFilter] = string(status)
	}
	if nextToken != "" {
		q["NextToken"] = nextToken
	}
	return q
}

// Lookup asks for one invocation by id: the direct check before the archive
// records that the source no longer has it.
func (c *Client) Lookup(ctx context.Context, invokeID string) (Page, Stats, error) {
	return c.call(ctx, map[string]any{"RegionId": c.region, "InvokeId": invokeID, "MaxResults": MaxResults})
}

func (c *Client) call(ctx context.Context, query map[string]any) (Page, Stats, error) {
	var page Page
	st, err := c.retry.do(ctx, func(ctx context.Context) error {
		if err := c.limiter.Wait(ctx); err != nil {
			return err
		}
		body, err := c.do(ctx, query)
		if err != nil {
			if errors.Is(classify(err), ErrThrottled) {
				c.limiter.throttled()
			}
			return err
		}
		c.limiter.succeeded()
		page, err = c.api.Parse(body.data)
		if err != nil {
			// A truncated or garbled body is usually a transport accident:
			// ask again, and fail the page only if it persists.
			return err
		}
		page.ServedAt = body.servedAt
		return nil
	})
	return page, st, err
}

// do runs one API call with capped exponential backoff and jitter: throttling,
// 5xx, transport failures and malformed bodies are retried, everything else
// fails at once. Errors from call are classified first.
func (p RetryPolicy) do(ctx context.Context, call func(ctx context.Context) error) (Stats, error) {
	var st Stats
	backoff := retry.NewExponential(p.Base)
	backoff = retry.WithCappedDuration(p.Cap, backoff)
	backoff = retry.WithJitterPercent(20, backoff)
	backoff = retry.WithMaxDuration(p.MaxElapsed, backoff)
	// MaxRetries counts failures only: throttling is the cloud asking us to
	// slow down, not failing, so a storm of it slows the walk (bounded by
	// MaxElapsed per call) instead of failing the cycle.
	throttled, budget := false, p.MaxRetries
	next := backoff
	backoff = retry.BackoffFunc(func() (time.Duration, bool) {
		if !throttled {
			if budget == 0 {
				return 0, true
			}
			budget--
		}
		return next.Next()
	})
	err := retry.Do(ctx, backoff, func(ctx context.Context) error {
		if st.Calls > 0 {
			st.Retries++
		}
		st.Calls++
		err := call(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = classify(err)
		throttled = errors.Is(err, ErrThrottled)
		if throttled || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrMalformed) {
			return retry.RetryableError(err)
		}
		return err
	})
	if err != nil && (errors.Is(err, ErrThrottled) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrMalformed)) {
		err = fmt.Errorf("gave up after %d attempts: %w", st.Calls, err)
	}
	return st, err
}

// do makes one signed call of the client's API through the SDK.
func (c *Client) do(ctx context.Context, query map[string]any) (rawBody, error) {
	params := &openapi.Params{
		Action: tea.String(c.api.Action), Version: tea.String(c.api.Version),
		Protocol: tea.String("HTTPS"), Pathname: tea.String("/"), Method: tea.String("POST"),
		AuthType: tea.String("AK"), Style: tea.String("RPC"), ReqBodyType: tea.String("formData"),
		BodyType: tea.String("string"),
	}
	req := &openapi.OpenApiRequest{Query: openapiutil.Query(query)}
	return callAside(ctx, c.timeout, func(slot int, rt *util.RuntimeOptions) (map[string]any, error) {
		sdk, err := c.sdks.client(slot)
		if err != nil {
			return nil, err
		}
		return sdk.CallApi(params, req, rt)
	})
}

// callAside runs one SDK call and reads its raw body. The SDK takes no
// context, so the call runs aside and an expired context abandons it; the
// call keeps its slot (see callSlots) until it has really finished.
func callAside(ctx context.Context, timeout time.Duration, call func(slot int, rt *util.RuntimeOptions) (map[string]any, error)) (rawBody, error) {
	type result struct {
		body rawBody
		err  error
	}
	slot, err := callSlots.acquire(ctx)
	if err != nil {
		return rawBody{}, err
	}
	done := make(chan result, 1)
	go func() {
		defer callSlots.release(slot)
		resp, err := call(slot, runtimeOptions(timeout, slot))
		if err != nil {
			done <- result{err: err}
			return
		}
		body, ok := resp["body"].(string)
		if !ok {
			done <- result{err: fmt.Errorf("%w: response body is %T, not text", ErrMalformed, resp["body"])}
			return
		}
		done <- result{body: rawBody{data: []byte(body), servedAt: dateHeader(resp["headers"])}}
	}()
	select {
	case r := <-done:
		return r.body, r.err
	case <-ctx.Done():
		return rawBody{}, ctx.Err()
	}
}

// rawBody is a response body and the time the source says it served it.
type rawBody struct {
	data     []byte
	servedAt time.Time
}

// dateHeader reads the HTTP Date header: the source's own clock, which dates
// changes the source gives no timestamp for (see Page.ServedAt).
func dateHeader(h any) time.Time {
	headers, ok := h.(map[string]any)
	if !ok {
		return time.Time{}
	}
	for k, v := range headers {
		if !strings.EqualFold(k, "date") {
			continue
		}
		s, _ := v.(string)
		if t, err := http.ParseTime(s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
