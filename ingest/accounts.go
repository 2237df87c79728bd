package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// Account is one account of the configuration (DESIGN.md §11): the name
// its targets carry, where its credentials come from, and its regions.
type Account struct {
	Name string
	// Profile names a credentials profile (ALIBABA_CLOUD_CREDENTIALS_FILE or
	// ~/.alibabacloud/credentials.ini); empty: the standard chain.
	Profile string
	// Role, when set, is assumed through STS with those credentials.
	Role    *source.Role
	Regions []string
}

// accountAPI returns the API options of an account, its credential
// settled, building it once per runner (an assumed role then refreshes
// itself). A failure names the account and never a secret.
func (r *Runner) accountAPI(ctx context.Context, a Account) (source.Options, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if api, ok := r.accounts[a.Name]; ok {
		return api, nil
	}
	opts := r.API
	if a.Profile != "" {
		p, err := providers.NewProfileCredentialsProviderBuilder().WithProfileName(a.Profile).Build()
		if err != nil {
			return opts, fmt.Errorf("account %s: profile %q: %w", a.Name, a.Profile, err)
		}
		opts.Credential = credentials.FromCredentialsProvider("profile", p)
	}
	var resolved source.Options
	var err error
	if a.Role == nil {
		resolved, err = source.Resolve(opts)
	} else {
		// AssumeRole settles the base credential itself.
		resolved = opts
		resolved.Credential, err = source.AssumeRole(ctx, opts, *a.Role)
	}
	if err != nil {
		return opts, fmt.Errorf("account %s: %w", a.Name, err)
	}
	if r.accounts == nil {
		r.accounts = map[string]source.Options{}
	}
	r.accounts[a.Name] = resolved
	return resolved, nil
}

// onceAccounts runs one cycle per target of every configured account. An
// account whose credentials cannot be had fails its own targets only.
func (r *Runner) onceAccounts(ctx context.Context, logger *slog.Logger) ([]Result, error) {
	var results []Result
	var failed []error
	for _, a := range r.Accounts {
		api, err := r.accountAPI(ctx, a)
		for _, region := range a.Regions {
			res := Result{Target: store.Target{Account: a.Name, Region: region, Source: model.SourceSendFileResults}, Err: err}
			if err == nil {
				res = r.one(ctx, a.Name, region, api, logger)
			}
			results = append(results, res)
			if err := r.report(res, logger); err != nil {
				failed = append(failed, err)
			}
			if ctx.Err() != nil {
				return results, errors.Join(append(failed, ctx.Err())...)
			}
		}
	}
	return results, errors.Join(failed...)
}
