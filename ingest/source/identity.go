package source

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/openapi-util/service"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"
)

// noCredentialsHint is what an operator with no credentials needs to read.
const noCredentialsHint = "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET " +
	"(plus ALIBABA_CLOUD_SECURITY_TOKEN for STS credentials), or name a credentials profile " +
	"(ALIBABA_CLOUD_PROFILE, in ~/.alibabacloud/credentials), or run on an ECS instance with a RAM role " +
	"(ALIBABA_CLOUD_ECS_METADATA names the role)"

// Resolve returns opts with its credential settled: the one given, or the
// standard chain (environment, profile, RAM role). It asks the credential for
// its keys once, so that an environment with no credentials fails at once
// with a sentence naming the options instead of retrying API calls, and so
// that every client built from the result shares one chain (and its cache).
func Resolve(opts Options) (Options, error) {
	if opts.Credential == nil {
		cred, err := credentials.NewCredential(nil)
		if err != nil {
			return opts, fmt.Errorf("%w: %s (%s)", ErrNoCredentials, noCredentialsHint, redactCredentialError(err))
		}
		opts.Credential = cred
	}
	if _, err := opts.Credential.GetCredential(); err != nil {
		return opts, fmt.Errorf("%w: %s (%s)", ErrNoCredentials, noCredentialsHint, redactCredentialError(err))
	}
	return opts, nil
}

// openapiConfig is the SDK configuration every client shares: the
// credential and, when Endpoint is set, its host and scheme.
func (o Options) openapiConfig() (*openapi.Config, error) {
	if o.Credential == nil {
		resolved, err := Resolve(o)
		if err != nil {
			return nil, err
		}
		o = resolved
	}
	cfg := &openapi.Config{Credential: o.Credential}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("endpoint %q: want a URL such as http://127.0.0.1:8099 or https://ecs.example.com", o.Endpoint)
		}
		cfg.Endpoint = tea.String(u.Host)
		cfg.Protocol = tea.String(strings.ToUpper(u.Scheme))
	}
	return cfg, nil
}

// stsEndpoint is STS's public endpoint, used unless Options.Endpoint points
// every product elsewhere.
const stsEndpoint = "sts.aliyuncs.com"

// CallerAccount asks STS whose credentials these are (GetCallerIdentity)
// and returns the account id. A target's account is the account its
// credentials belong to, so one account's walk never judges another's
// records; GetCallerIdentity needs no RAM permission.
func CallerAccount(ctx context.Context, opts Options) (string, Stats, error) {
	var account string
	st, err := callSTS(ctx, opts, "GetCallerIdentity", map[string]any{}, func(body []byte) error {
		var id struct{ AccountId string }
		if err := json.Unmarshal(body, &id); err != nil || strings.TrimSpace(id.AccountId) == "" {
			return fmt.Errorf("%w: GetCallerIdentity answered without an AccountId", ErrMalformed)
		}
		account = strings.TrimSpace(id.AccountId)
		return nil
	})
	if err != nil {
		return "", st, fmt.Errorf("identify the account (STS GetCallerIdentity): %w", err)
	}
	return account, st, nil
}

// callSTS calls one STS action (version 2015-04-01, RPC) with opts'
// credential and endpoint, retrying as every API call does, and hands the
// answer's body to read.
func callSTS(ctx context.Context, opts Options, action string, query map[string]any, read func([]byte) error) (Stats, error) {
	cfg, err := opts.openapiConfig()
	if err != nil {
		return Stats{}, err
	}
	if cfg.Endpoint == nil {
		cfg.Endpoint = tea.String(stsEndpoint)
	}
	if _, err := openapi.NewClient(cfg); err != nil { // a bad configuration fails here, not retried
		return Stats{}, fmt.Errorf("create STS client: %w", err)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	return opts.Retry.withDefaults().do(ctx, func(ctx context.Context) error {
		body, err := callAside(ctx, timeout, func(_ int, rt *util.RuntimeOptions) (map[string]any, error) {
			// A client per attempt: the SDK writes to the client it calls
			// through, and an abandoned attempt may still be running.
			client, err := openapi.NewClient(cfg)
			if err != nil {
				return nil, fmt.Errorf("create STS client: %w", err)
			}
			return client.CallApi(&openapi.Params{
				Action: tea.String(action), Version: tea.String("2015-04-01"),
				Protocol: tea.String("HTTPS"), Pathname: tea.String("/"), Method: tea.String("POST"),
				AuthType: tea.String("AK"), Style: tea.String("RPC"), ReqBodyType: tea.String("formData"),
				BodyType: tea.String("string"),
			}, &openapi.OpenApiRequest{Query: openapiutil.Query(query)}, rt)
		})
		if err != nil {
			return err
		}
		return read(body.data)
	})
}
