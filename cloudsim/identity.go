package cloudsim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// callerIdentity answers STS GetCallerIdentity for the account whose key
// signed the request: a RAM user for an access key pair, an assumed-role
// user when the request carried a security token.
func (s *Sim) callerIdentity(r *http.Request, requestID string) []byte {
	account := s.cfg.AccountID
	body := map[string]string{
		"RequestId": requestID, "AccountId": account, "IdentityType": "RAMUser",
		"UserId": "2" + account[1:], "PrincipalId": "2" + account[1:],
		"Arn": "acs:ram::" + account + ":user/archiver",
	}
	if r.Header.Get("x-acs-security-token") != "" {
		body["IdentityType"] = "AssumedRoleUser"
		body["Arn"] = "acs:ram::" + account + ":assumed-role/archiver-read/archiver"
		body["RoleId"] = "3" + account[1:]
	}
	b, _ := json.Marshal(body) // a map of strings always marshals
	return b
}

// MultiAccount serves several simulated accounts behind one endpoint, as the
// cloud does: each API request goes to the account whose access key signed
// it (a key no account knows gets the first account's answer to an unknown
// key). The control surface under /_sim/ reaches the first account only.
func MultiAccount(sims ...*Sim) http.Handler {
	byKey := map[string]http.Handler{}
	keys := make([]string, 0, len(sims))
	for _, sim := range sims {
		byKey[sim.cfg.AccessKeyID] = sim.Handler()
		keys = append(keys, sim.cfg.AccessKeyID)
	}
	sort.Strings(keys)
	first := sims[0].Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := parseAuthorization(r.Header.Get("Authorization")); ok && !strings.HasPrefix(r.URL.Path, controlPrefix) {
			if h := byKey[a.accessKeyID]; h != nil {
				h.ServeHTTP(w, r)
				return
			}
		}
		first.ServeHTTP(w, r)
	})
}
