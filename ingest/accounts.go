package ingest

import (
	"context"
	"fmt"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"

	"github.com/cloudassistant/sendfile-archive/ingest/source"
	"github.com/cloudassistant/sendfile-archive/model"
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
	// Sources are the APIs archived in each region (default: ECS
	// send-file results).
	Sources []model.SourceID
}

// sources returns the account's sources, the default when none is set.
func (a Account) sources() []model.SourceID {
	if len(a.Sources) == 0 {
		return []model.SourceID{model.SourceSendFileResults}
	}
	return a.Sources
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
