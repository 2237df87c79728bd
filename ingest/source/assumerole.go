package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"
)

// Role names a RAM role to assume through STS AssumeRole.
type Role struct {
	ARN        string // acs:ram::<account>:role/<name>
	ExternalID string // optional, as the role's trust policy requires
	// SessionName identifies the archiver in the account's ActionTrail
	// (default "sendfile-archive").
	SessionName string
	// Duration of each set of temporary credentials (default 1h; STS allows
	// 15 min to the role's maximum).
	Duration time.Duration
}

// refreshBefore is how long before they expire the assumed credentials are
// replaced, so no call is signed with credentials about to lapse.
const refreshBefore = 3 * time.Minute

// ErrAssumeRole marks a role that could not be assumed: a bad ARN, a trust
// policy that refuses the caller, a missing sts:AssumeRole permission.
var ErrAssumeRole = errors.New("cannot assume the role")

// AssumeRole returns a credential that assumes role with base's credential
// (base.Credential, else the standard chain) through STS at base's endpoint,
// and replaces the temporary credentials refreshBefore their expiry. The
// first set is fetched here, so a bad ARN or a refusal fails at once with
// a sentence (never a secret). credentials-go has a RAM-role provider, but
// it always calls STS over HTTPS at its own endpoint; this one goes where
// every other API call of the archiver goes (--endpoint included).
func AssumeRole(ctx context.Context, base Options, role Role) (credentials.Credential, error) {
	if !strings.HasPrefix(role.ARN, "acs:ram::") || !strings.Contains(role.ARN, ":role/") {
		return nil, fmt.Errorf("%w %q: want an ARN such as acs:ram::1234567890123456:role/archiver-read", ErrAssumeRole, role.ARN)
	}
	if role.SessionName == "" {
		role.SessionName = "sendfile-archive"
	}
	if role.Duration == 0 {
		role.Duration = time.Hour
	}
	resolved, err := Resolve(base)
	if err != nil {
		return nil, err
	}
	// Refreshes outlive the call that built the credential (a daemon keeps
	// it for days): they keep ctx's values, not its cancellation, and the
	// retry policy bounds them.
	p := &assumedRole{base: resolved, role: role, now: time.Now, ctx: context.WithoutCancel(ctx)}
	if _, err := p.GetCredentials(); err != nil {
		return nil, err
	}
	return credentials.FromCredentialsProvider("ram_role_arn", p), nil
}

// assumedRole is a credentials-go provider holding the current temporary
// credentials of a role. The SDK asks it before every signed call, from any
// goroutine: mu serialises refreshes.
type assumedRole struct {
	base    Options
	role    Role
	now     func() time.Time
	ctx     context.Context // bounds the STS calls of refreshes
	mu      sync.Mutex
	cur     *providers.Credentials
	expires time.Time
}

// GetCredentials returns the current credentials, assuming the role again
// when they are missing or about to expire.
func (p *assumedRole) GetCredentials() (*providers.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil && p.now().Before(p.expires.Add(-refreshBefore)) {
		c := *p.cur
		return &c, nil
	}
	var answer struct {
		Credentials struct {
			AccessKeyId, AccessKeySecret, SecurityToken, Expiration string
		}
	}
	q := map[string]any{"RoleArn": p.role.ARN, "RoleSessionName": p.role.SessionName,
		"DurationSeconds": int(p.role.Duration / time.Second)}
	if p.role.ExternalID != "" {
		q["ExternalId"] = p.role.ExternalID
	}
	_, err := callSTS(p.ctx, p.base, "AssumeRole", q, func(body []byte) error {
		return json.Unmarshal(body, &answer)
	})
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrAssumeRole, p.role.ARN, err)
	}
	c := answer.Credentials
	expires, perr := time.Parse(time.RFC3339, strings.TrimSpace(c.Expiration))
	if c.AccessKeyId == "" || c.AccessKeySecret == "" || c.SecurityToken == "" || perr != nil {
		return nil, fmt.Errorf("%w %s: %w: AssumeRole answered without complete credentials", ErrAssumeRole, p.role.ARN, ErrMalformed)
	}
	p.cur = &providers.Credentials{AccessKeyId: c.AccessKeyId, AccessKeySecret: c.AccessKeySecret,
		SecurityToken: c.SecurityToken, ProviderName: "ram_role_arn"}
	p.expires = expires
	out := *p.cur
	return &out, nil
}

// GetProviderName names the provider for credentials-go.
func (p *assumedRole) GetProviderName() string { return "ram_role_arn" }
