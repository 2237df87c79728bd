package cloudsim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// callerIdentity answers STS GetCallerIdentity for the account whose key
// signed the request: a RAM user for an access key pair, an assumed-role
// user when the request carried a security token. For credentials issued
// by AssumeRole (cred non-nil) it names the role and session actually
// assumed; s is then the role's account.
func (s *Sim) callerIdentity(r *http.Request, cred *issuedCred, requestID string) []byte {
	account := s.cfg.AccountID
	body := map[string]string{
		"RequestId": requestID, "AccountId": account, "IdentityType": "RAMUser",
		"UserId": "2" + account[1:], "PrincipalId": "2" + account[1:],
		"Arn": "acs:ram::" + account + ":user/archiver",
	}
	if cred != nil {
		roleID := s.roleID(cred.role)
		body["IdentityType"] = "AssumedRoleUser"
		body["Arn"] = cred.arn(account)
		body["RoleId"] = roleID
		body["UserId"] = roleID + ":" + cred.session
		body["PrincipalId"] = roleID + ":" + cred.session
	} else if r.Header.Get("x-acs-security-token") != "" {
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
// key). Temporary credentials issued by STS AssumeRole belong to the role's
// account, so requests signed with them go there; AssumeRole itself is
// answered by the caller's account and may name a role of any account
// served here (subject to the role's trust). The control surface under
// /_sim/ reaches the first account only.
func MultiAccount(sims ...*Sim) http.Handler {
	byAccount := map[string]*Sim{}
	for _, sim := range sims {
		if byAccount[sim.cfg.AccountID] == nil {
			byAccount[sim.cfg.AccountID] = sim
		}
	}
	dir := func(accountID string) *Sim { return byAccount[accountID] }
	byKey := map[string]http.Handler{}
	handlers := make([]http.Handler, len(sims))
	for i, sim := range sims {
		handlers[i] = sim.handler(dir)
		byKey[sim.cfg.AccessKeyID] = handlers[i]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := parseAuthorization(r.Header.Get("Authorization")); ok && !strings.HasPrefix(r.URL.Path, controlPrefix) {
			if h := byKey[a.accessKeyID]; h != nil {
				h.ServeHTTP(w, r)
				return
			}
			for i, sim := range sims {
				if sim.issuedFor(a.accessKeyID) != nil {
					handlers[i].ServeHTTP(w, r)
					return
				}
			}
		}
		handlers[0].ServeHTTP(w, r)
	})
}
