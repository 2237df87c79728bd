package cloudsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// signatureAlgorithm is the only algorithm the simulator verifies; it is the
// default of darabonba-openapi v2, which the official ECS SDK uses.
const signatureAlgorithm = "ACS3-HMAC-SHA256"

// requiredSignedHeaders are the common headers the SDK always sends and
// signs. The signature documentation requires every common header that is
// present to be signed; demanding these keeps an unsigned action, version or
// payload hash from slipping through.
var requiredSignedHeaders = []string{"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}

type authorization struct {
	accessKeyID   string
	signedHeaders []string
	signature     string
}

// parseAuthorization splits
// "ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=a;b;c,Signature=<hex>".
func parseAuthorization(v string) (authorization, bool) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || alg != signatureAlgorithm {
		return authorization{}, false
	}
	var a authorization
	var signed string
	for part := range strings.SplitSeq(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return authorization{}, false
		}
		switch k {
		case "Credential":
			a.accessKeyID = val
		case "SignedHeaders":
			signed = val
		case "Signature":
			a.signature = strings.ToLower(val)
		}
	}
	if a.accessKeyID == "" || signed == "" || len(a.signature) != sha256.Size*2 {
		return authorization{}, false
	}
	if _, err := hex.DecodeString(a.signature); err != nil {
		return authorization{}, false
	}
	for h := range strings.SplitSeq(signed, ";") {
		if h == "" || h != strings.ToLower(h) {
			return authorization{}, false
		}
		a.signedHeaders = append(a.signedHeaders, h)
	}
	return a, true
}

// authenticate checks the request the way the cloud's gateway does:
// well-formed Authorization, known access key, security token, every common
// header signed, payload hash, then the signature itself. The secret and the
// signature never leave this function. A request signed with temporary
// credentials s issued (AssumeRole) returns them, so the caller knows it
// acts as the assumed role; otherwise the credential is nil.
func (s *Sim) authenticate(r *http.Request, query url.Values, payload []byte) (*issuedCred, *apiError) {
	raw := r.Header.Get("Authorization")
	if raw == "" {
		return nil, errMissingAuth
	}
	a, ok := parseAuthorization(raw)
	if !ok {
		return nil, errIncompleteSig
	}
	secret := s.cfg.AccessKeySecret
	cred := s.issuedFor(a.accessKeyID)
	if cred != nil {
		secret = cred.secret
	} else if a.accessKeyID != s.cfg.AccessKeyID {
		return nil, errUnknownKey
	}
	if id := r.Header.Get("x-acs-accesskey-id"); id != "" && id != a.accessKeyID {
		return nil, errIncompleteSig
	}
	if e := s.checkToken(cred, r.Header.Get("x-acs-security-token")); e != nil {
		return nil, e
	}
	if e := verifySignature(r, query, payload, a, secret); e != nil {
		return nil, e
	}
	return cred, nil
}

// checkToken checks x-acs-security-token: against the issued token for
// temporary credentials, against Config.SecurityToken (when set) otherwise.
func (s *Sim) checkToken(cred *issuedCred, tok string) *apiError {
	if cred != nil {
		return checkIssued(cred, tok)
	}
	if s.cfg.SecurityToken != "" {
		if tok == "" {
			return errMissingToken
		}
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.SecurityToken)) != 1 {
			return errTokenMismatch
		}
	}
	return nil
}

// verifySignature checks that every common header is signed, the payload
// hash and the signature itself against secret.
func verifySignature(r *http.Request, query url.Values, payload []byte, a authorization, secret string) *apiError {
	signed := make(map[string]bool, len(a.signedHeaders))
	for _, h := range a.signedHeaders {
		signed[h] = true
	}
	for _, h := range requiredSignedHeaders {
		if !signed[h] || (h != "host" && r.Header.Get(h) == "") {
			return errIncompleteSig
		}
	}
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-acs-") && !signed[l] {
			return errIncompleteSig
		}
	}
	sum := sha256.Sum256(payload)
	hashed := hex.EncodeToString(sum[:])
	// The cloud hashes the body it received; a header that disagrees means
	// the body was altered in flight, which is a signature failure.
	if r.Header.Get("x-acs-content-sha256") != hashed {
		return errSignature
	}
	want := sign(secret, canonicalRequest(r, query, a.signedHeaders, hashed))
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return errSignature
	}
	return nil
}

// canonicalRequest rebuilds the string openapi-util's GetAuthorization
// signs: method, canonical URI, canonical query string, canonical headers,
// signed header list and hashed payload, one per line.
func canonicalRequest(r *http.Request, query url.Values, signedHeaders []string, hashedPayload string) string {
	uri := r.URL.EscapedPath()
	if uri == "" {
		uri = "/"
	}
	uri = strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(uri)

	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(query))
	b.WriteByte('\n')
	for _, h := range signedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(hashedPayload)
	return b.String()
}

// canonicalQuery mirrors getCanonicalQueryString: keys sorted bytewise and
// left raw, values url.QueryEscape'd, then "+", "*" and "%7E" rewritten
// over the whole string (keys included, as the SDK does).
func canonicalQuery(query url.Values) string {
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		if v := query.Get(k); v != "" {
			b.WriteString(url.QueryEscape(v))
		}
	}
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(b.String())
}

// canonicalHeaderValue mirrors getCanonicalHeaders: trimmed values, sorted
// and comma-joined. net/http moves Host out of the header map into r.Host.
func canonicalHeaderValue(r *http.Request, name string) string {
	if name == "host" {
		return strings.TrimSpace(r.Host)
	}
	vals := r.Header.Values(name)
	trimmed := make([]string, len(vals))
	for i, v := range vals {
		trimmed[i] = strings.TrimSpace(v)
	}
	sort.Strings(trimmed)
	return strings.Join(trimmed, ",")
}

// sign computes the hex HMAC-SHA256 signature of a canonical request.
func sign(secret, canonical string) string {
	digest := sha256.Sum256([]byte(canonical))
	stringToSign := signatureAlgorithm + "\n" + hex.EncodeToString(digest[:])
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return hex.EncodeToString(mac.Sum(nil))
}
