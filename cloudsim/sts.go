package cloudsim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// stsAssumeRoleAction is STS AssumeRole, served on the same endpoint as
// everything else and, like GetCallerIdentity, never fault-injected:
// credential refreshes are not what the fault streams exercise.
const stsAssumeRoleAction = "AssumeRole"

// Role is a RAM role of the simulated account that callers may assume with
// STS AssumeRole. Its ARN is acs:ram::<AccountID>:role/<lowercased Name>.
type Role struct {
	// Name is the role name: 1..64 of letters, digits, '.' and '-'.
	Name string
	// ExternalID, when set, must be sent as ExternalId by every caller, as a
	// trust policy with an sts:ExternalId condition demands.
	ExternalID string
	// TrustedAccounts are the account ids whose keys may assume the role;
	// empty means only the role's own account.
	TrustedAccounts []string
}

// AssumeRole limits from the STS documentation.
const (
	minSessionSeconds     = 900
	maxSessionSeconds     = 3600
	defaultSessionSeconds = 3600
)

var (
	roleNamePattern    = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)
	roleArnPattern     = regexp.MustCompile(`^acs:ram::([0-9]{16}):role/([a-z0-9.-]{1,64})$`)
	sessionNamePattern = regexp.MustCompile(`^[A-Za-z0-9.@_-]{2,64}$`)
)

// Errors of AssumeRole and of requests signed with issued credentials.
// Messages never carry credentials, only the ARN the caller sent.
var (
	errRoleArn         = paramError(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
	errSessionName     = paramError(400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed.")
	errDurationSeconds = paramError(400, "InvalidParameter.DurationSeconds", "The Min/Max value of DurationSeconds is 15min/1hr.")
	errNoPermission    = authError(403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM.")
	errTokenExpired    = authError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
	errTokenNotMatch   = authError(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
)

// errRoleNotExist names the ARN the caller sent, as the cloud does.
func errRoleNotExist(arn string) *apiError {
	return paramError(404, "EntityNotExist.Role", "The role not exists: "+arn+".")
}

// issuedCred is a set of temporary credentials issued by AssumeRole. It is
// kept by the role's account, which serves every request signed with it.
type issuedCred struct {
	accessKeyID string
	secret      string
	token       string
	expiration  time.Time // wall clock, whole seconds, as rendered
	role        string    // role name as configured
	session     string
}

// arn is the assumed-role ARN GetCallerIdentity and AssumeRole report.
func (c *issuedCred) arn(account string) string {
	return "acs:ram::" + account + ":assumed-role/" + strings.ToLower(c.role) + "/" + c.session
}

// roleID is the stable numeric id of one of the account's roles.
func (s *Sim) roleID(name string) string {
	return fmt.Sprintf("3%018d", hashSeed(s.cfg.Seed, "role", s.cfg.AccountID, strings.ToLower(name))%1_000_000_000_000_000_000)
}

// roleArn is the ARN of one of the account's roles.
func (s *Sim) roleArn(name string) string {
	return "acs:ram::" + s.cfg.AccountID + ":role/" + strings.ToLower(name)
}

// directory finds the simulated account with the given id behind the same
// endpoint, or nil. A lone Sim's directory knows only itself.
type directory func(accountID string) *Sim

// selfDirectory is the directory of a Sim served on its own.
func (s *Sim) selfDirectory(accountID string) *Sim {
	if accountID == s.cfg.AccountID {
		return s
	}
	return nil
}

// assumeRoleRequest is a validated AssumeRole request.
type assumeRoleRequest struct {
	arn, account, role, session, externalID string
	duration                                time.Duration
}

// parseAssumeRole validates the parameters in the order the cloud reports
// them: RoleArn, RoleSessionName, DurationSeconds.
func parseAssumeRole(p url.Values) (*assumeRoleRequest, *apiError) {
	q := &assumeRoleRequest{arn: p.Get("RoleArn"), session: p.Get("RoleSessionName"), externalID: p.Get("ExternalId")}
	m := roleArnPattern.FindStringSubmatch(q.arn)
	if m == nil {
		return nil, errRoleArn
	}
	q.account, q.role = m[1], m[2]
	if !sessionNamePattern.MatchString(q.session) {
		return nil, errSessionName
	}
	secs := int64(defaultSessionSeconds)
	if v, ok := p["DurationSeconds"]; ok {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < minSessionSeconds || n > maxSessionSeconds {
			return nil, errDurationSeconds
		}
		secs = n
	}
	q.duration = time.Duration(secs) * time.Second
	return q, nil
}

// assumeRole answers STS AssumeRole for a caller authenticated by s (its
// own key or credentials issued for one of its roles). The role may belong
// to any account dir knows; the credentials are kept by that account.
func (s *Sim) assumeRole(params url.Values, requestID string, dir directory) ([]byte, *apiError) {
	q, e := parseAssumeRole(params)
	if e != nil {
		return nil, e
	}
	target := dir(q.account)
	if target == nil {
		return nil, errRoleNotExist(q.arn)
	}
	role, ok := target.findRole(q.role)
	if !ok {
		return nil, errRoleNotExist(q.arn)
	}
	if !role.trusts(s.cfg.AccountID, target.cfg.AccountID) {
		return nil, errNoPermission
	}
	if role.ExternalID != "" && subtle.ConstantTimeCompare([]byte(role.ExternalID), []byte(q.externalID)) != 1 {
		return nil, errNoPermission
	}
	c := target.issue(role.Name, q.session, q.duration)
	type user struct {
		AssumedRoleID string `json:"AssumedRoleId"`
		Arn           string `json:"Arn"`
	}
	type credentials struct {
		AccessKeyID     string `json:"AccessKeyId"`
		AccessKeySecret string `json:"AccessKeySecret"`
		SecurityToken   string `json:"SecurityToken"`
		Expiration      string `json:"Expiration"`
	}
	body, _ := json.Marshal(struct {
		RequestID       string      `json:"RequestId"`
		AssumedRoleUser user        `json:"AssumedRoleUser"`
		Credentials     credentials `json:"Credentials"`
	}{
		RequestID:       requestID,
		AssumedRoleUser: user{target.roleID(role.Name) + ":" + c.session, c.arn(target.cfg.AccountID)},
		Credentials:     credentials{c.accessKeyID, c.secret, c.token, c.expiration.Format(layoutClean)},
	}) // strings only: always marshals
	return body, nil
}

// findRole looks a role up by its ARN name, which is lowercased.
func (s *Sim) findRole(arnName string) (Role, bool) {
	for _, r := range s.cfg.Roles {
		if strings.ToLower(r.Name) == arnName {
			return r, true
		}
	}
	return Role{}, false
}

// trusts reports whether a key of caller may assume the role of owner.
func (r Role) trusts(caller, owner string) bool {
	if len(r.TrustedAccounts) == 0 {
		return caller == owner
	}
	for _, a := range r.TrustedAccounts {
		if a == caller {
			return true
		}
	}
	return false
}

// issue creates and records temporary credentials for one of s's roles.
// They are derived from the seed and an issue counter, so runs repeat;
// the lifetime is requested, capped by Config.SessionDuration, and counted
// on the wall clock because that is what the SDK's refresh logic uses.
func (s *Sim) issue(role, session string, requested time.Duration) *issuedCred {
	life := requested
	if s.cfg.SessionDuration > 0 {
		life = min(life, s.cfg.SessionDuration)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuedN++
	g := newRNG(hashSeed(s.cfg.Seed, "sts", strconv.FormatUint(s.issuedN, 10)))
	c := &issuedCred{role: role, session: session}
	for c.accessKeyID == "" || s.issued[c.accessKeyID] != nil {
		c.accessKeyID = "STS." + strings.ToUpper(g.alnum(12)) + g.alnum(12)
	}
	c.secret = g.alnum(40)
	c.token = "CAIS" + g.alnum(120)
	c.expiration = time.Now().UTC().Add(life).Truncate(time.Second)
	s.issued[c.accessKeyID] = c
	return c
}

// issuedFor returns the temporary credentials s issued under an access key
// id, or nil.
func (s *Sim) issuedFor(accessKeyID string) *issuedCred {
	if !strings.HasPrefix(accessKeyID, "STS.") {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued[accessKeyID]
}

// checkIssued verifies the security token of a request signed with
// temporary credentials and their expiry (wall clock).
func checkIssued(c *issuedCred, token string) *apiError {
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(c.token)) != 1 {
		return errTokenNotMatch
	}
	if !time.Now().Before(c.expiration) {
		return errTokenExpired
	}
	return nil
}
