package cloudsim

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/openapi-util/service"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
)

// callRPC calls an RPC operation through the generic OpenAPI client, the
// way ingest/source does for STS and EFLO: POST, form body, JSON answer.
func callRPC(t testing.TB, host string, c creds, action, version string, query map[string]any) (map[string]any, error) {
	t.Helper()
	cfg := &openapi.Config{AccessKeyId: tea.String(c.ak), AccessKeySecret: tea.String(c.secret),
		Endpoint: tea.String(host), Protocol: tea.String("HTTP")}
	if c.token != "" {
		cfg.SecurityToken = tea.String(c.token)
	}
	client, err := openapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.CallApi(&openapi.Params{Action: tea.String(action), Version: tea.String(version),
		Protocol: tea.String("HTTP"), Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json")},
		&openapi.OpenApiRequest{Query: openapiutil.Query(query)}, &util.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	return resp["body"].(map[string]any), nil
}

// assume calls AssumeRole and returns the issued credentials and the body.
func assume(t testing.TB, host string, c creds, arn string, extra map[string]any) (creds, map[string]any, error) {
	t.Helper()
	q := map[string]any{"RoleArn": arn, "RoleSessionName": "archiver"}
	for k, v := range extra {
		q[k] = v
	}
	body, err := callRPC(t, host, c, "AssumeRole", stsVersion, q)
	if err != nil {
		return creds{}, nil, err
	}
	cr := body["Credentials"].(map[string]any)
	return creds{cr["AccessKeyId"].(string), cr["AccessKeySecret"].(string), cr["SecurityToken"].(string)}, body, nil
}

func wantCode(t testing.TB, what string, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %d %s", what, status, code)
		return
	}
	if got, st := sdkError(t, err); got != code || st != status {
		t.Errorf("%s: %d %s, want %d %s", what, st, got, status, code)
	}
}

func TestAssumeRoleOwnAccount(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Roles = []Role{{Name: "Archiver-Read"}} })
	s.Advance(3 * 24 * time.Hour)
	host := serve(t, s)
	acct := s.Config().AccountID
	arn := "acs:ram::" + acct + ":role/archiver-read"

	tmp, body, err := assume(t, host, defaultCreds, arn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tmp.ak, "STS.") || tmp.secret == "" || tmp.token == "" {
		t.Fatalf("credentials: %+v", body)
	}
	user := body["AssumedRoleUser"].(map[string]any)
	if user["Arn"] != "acs:ram::"+acct+":assumed-role/archiver-read/archiver" || !strings.HasSuffix(user["AssumedRoleId"].(string), ":archiver") {
		t.Errorf("AssumedRoleUser = %v", user)
	}
	expRaw := body["Credentials"].(map[string]any)["Expiration"].(string)
	exp, err := time.Parse(layoutClean, expRaw)
	if err != nil || exp.Before(time.Now().Add(59*time.Minute)) || exp.After(time.Now().Add(time.Hour)) {
		t.Errorf("Expiration %q: want one hour from the wall clock", expRaw)
	}

	// The temporary key reads the account's world, and knows who it is.
	resp, err := newClient(t, host, tmp).DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou"), MaxResults: tea.Int32(50)})
	if err != nil || len(resp.Body.Invocations.Invocation) == 0 {
		t.Fatalf("listing with temporary credentials: %v", err)
	}
	id, err := callRPC(t, host, tmp, "GetCallerIdentity", stsVersion, nil)
	if err != nil || id["AccountId"] != acct || id["IdentityType"] != "AssumedRoleUser" ||
		id["Arn"] != "acs:ram::"+acct+":assumed-role/archiver-read/archiver" {
		t.Fatalf("identity as the role: %v %v", id, err)
	}

	// Tokens: missing or another one is a mismatch.
	_, err = callRPC(t, host, creds{tmp.ak, tmp.secret, ""}, "GetCallerIdentity", stsVersion, nil)
	wantCode(t, "no token", err, "InvalidSecurityToken.MismatchWithAccessKey", 400)
	_, err = callRPC(t, host, creds{tmp.ak, tmp.secret, "CAISother"}, "GetCallerIdentity", stsVersion, nil)
	wantCode(t, "wrong token", err, "InvalidSecurityToken.MismatchWithAccessKey", 400)
	_, err = callRPC(t, host, creds{tmp.ak, "wrong", tmp.token}, "GetCallerIdentity", stsVersion, nil)
	wantCode(t, "wrong secret", err, "SignatureDoesNotMatch", 400)

	// Parameter errors and unknown roles.
	_, _, err = assume(t, host, defaultCreds, "acs:ram::"+acct+":user/x", nil)
	wantCode(t, "malformed ARN", err, "InvalidParameter.RoleArn", 400)
	_, _, err = assume(t, host, defaultCreds, arn, map[string]any{"RoleSessionName": "a b"})
	wantCode(t, "bad session name", err, "InvalidParameter.RoleSessionName", 400)
	_, _, err = assume(t, host, defaultCreds, arn, map[string]any{"DurationSeconds": 899})
	wantCode(t, "short duration", err, "InvalidParameter.DurationSeconds", 400)
	_, _, err = assume(t, host, defaultCreds, arn, map[string]any{"DurationSeconds": 3601})
	wantCode(t, "long duration", err, "InvalidParameter.DurationSeconds", 400)
	_, _, err = assume(t, host, defaultCreds, "acs:ram::"+acct+":role/nope", nil)
	wantCode(t, "unknown role", err, "EntityNotExist.Role", 404)
	_, _, err = assume(t, host, defaultCreds, "acs:ram::1000000000000001:role/archiver-read", nil)
	wantCode(t, "unknown account", err, "EntityNotExist.Role", 404)
	if err != nil && strings.Contains(err.Error(), tmp.secret) {
		t.Error("an error message carries a secret")
	}
	_, _, err = assume(t, host, creds{defaultAccessKeyID, "wrong", ""}, arn, nil)
	wantCode(t, "bad signature", err, "SignatureDoesNotMatch", 400)

	st := s.Stats()
	if st.AssumeRoles != 8 || outcomeSum(st) != st.Requests {
		t.Errorf("Stats = %+v, want 8 AssumeRoles and outcomes summing to Requests", st)
	}
}

func TestAssumeRoleRefreshAndExpiry(t *testing.T) {
	t.Parallel()
	s := newSim(t, func(c *Config) { c.Roles = []Role{{Name: "reader"}}; c.SessionDuration = 2 * time.Second })
	host := serve(t, s)
	arn := "acs:ram::" + s.Config().AccountID + ":role/reader"
	tmp, body, err := assume(t, host, defaultCreds, arn, map[string]any{"DurationSeconds": 900})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := time.Parse(layoutClean, body["Credentials"].(map[string]any)["Expiration"].(string))
	if exp.After(time.Now().Add(2 * time.Second)) {
		t.Fatalf("Expiration %v is not capped by SessionDuration", exp)
	}
	if _, err := callRPC(t, host, tmp, "GetCallerIdentity", stsVersion, nil); err != nil && time.Now().Before(exp) {
		t.Fatalf("fresh credentials refused: %v", err)
	}
	time.Sleep(time.Until(exp) + 50*time.Millisecond)
	_, err = callRPC(t, host, tmp, "GetCallerIdentity", stsVersion, nil)
	wantCode(t, "expired", err, "InvalidSecurityToken.Expired", 400)
	_, err = newClient(t, host, tmp).DescribeSendFileResults(&request{RegionId: tea.String("cn-hangzhou")})
	wantCode(t, "expired listing", err, "InvalidSecurityToken.Expired", 400)

	// Refresh: a new set works, and differs from the old one.
	again, _, err := assume(t, host, defaultCreds, arn, nil)
	if err != nil || again.ak == tmp.ak || again.token == tmp.token {
		t.Fatalf("refresh: %v (same key: %t)", err, again.ak == tmp.ak)
	}
	if _, err := callRPC(t, host, again, "GetCallerIdentity", stsVersion, nil); err != nil {
		t.Fatalf("refreshed credentials: %v", err)
	}
}

func TestAssumeRoleAcrossAccounts(t *testing.T) {
	t.Parallel()
	a := newSim(t, func(c *Config) { c.AccessKeyID = "key-a" })
	aID := a.Config().AccountID
	b := newSim(t, func(c *Config) {
		c.Seed++
		c.AccessKeyID = "key-b"
		c.Roles = []Role{{Name: "reader", ExternalID: "ext-1", TrustedAccounts: []string{aID}}, {Name: "private"}}
	})
	bID := b.Config().AccountID
	a.Advance(2 * 24 * time.Hour)
	b.Advance(2 * 24 * time.Hour)
	srv := httptest.NewServer(MultiAccount(a, b))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	keyA := creds{"key-a", defaultAccessKeySecret, ""}
	keyB := creds{"key-b", defaultAccessKeySecret, ""}
	reader, private := "acs:ram::"+bID+":role/reader", "acs:ram::"+bID+":role/private"

	_, _, err := assume(t, host, keyA, reader, nil)
	wantCode(t, "no external id", err, "NoPermission", 403)
	_, _, err = assume(t, host, keyA, reader, map[string]any{"ExternalId": "ext-2"})
	wantCode(t, "wrong external id", err, "NoPermission", 403)
	_, _, err = assume(t, host, keyA, private, nil)
	wantCode(t, "untrusted caller", err, "NoPermission", 403)
	if _, _, err := assume(t, host, keyB, private, nil); err != nil {
		t.Errorf("own account's role: %v", err)
	}
	tmp, _, err := assume(t, host, keyA, reader, map[string]any{"ExternalId": "ext-1"})
	if err != nil {
		t.Fatal(err)
	}

	// Each key sees its own world; the role's key sees the role's account.
	listing := func(c creds) []string {
		got, _ := walkTokens(t, newClient(t, host, c), request{RegionId: tea.String("cn-hangzhou")}, 50, nil)
		return ids(got)
	}
	if !equalStrings(listing(keyA), truthIDs(listedTruth(a, "cn-hangzhou"))) {
		t.Error("key-a does not see account a")
	}
	if !equalStrings(listing(keyB), truthIDs(listedTruth(b, "cn-hangzhou"))) {
		t.Error("key-b does not see account b")
	}
	if !equalStrings(listing(tmp), truthIDs(listedTruth(b, "cn-hangzhou"))) {
		t.Error("the role's temporary key does not see the role's account")
	}
	id, err := callRPC(t, host, tmp, "GetCallerIdentity", stsVersion, nil)
	if err != nil || id["AccountId"] != bID || id["Arn"] != "acs:ram::"+bID+":assumed-role/reader/archiver" {
		t.Fatalf("identity: %v %v", id, err)
	}
	if a.Stats().AssumeRoles != 4 || b.Stats().AssumeRoles != 1 {
		t.Errorf("AssumeRoles: a %d, b %d; want 4 and 1", a.Stats().AssumeRoles, b.Stats().AssumeRoles)
	}
}
