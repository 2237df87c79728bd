package source

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/alibabacloud-go/tea/tea"
)

// Error classes. Every error from a Client wraps exactly one of them.
var (
	// ErrNoCredentials: the credential chain produced none. Not retried.
	ErrNoCredentials = errors.New("no usable credentials")
	// ErrCredentials: the cloud rejected who we are. Not retried.
	ErrCredentials = errors.New("credentials rejected")
	// ErrPermission: we are known but not allowed. Not retried.
	ErrPermission = errors.New("permission denied")
	// ErrParameter: the request was refused as invalid. Not retried.
	ErrParameter = errors.New("request rejected")
	// ErrBadToken: the NextToken was refused; the walk must start over.
	ErrBadToken = errors.New("pagination token rejected")
	// ErrThrottled: flow control. Retried with backoff.
	ErrThrottled = errors.New("throttled")
	// ErrUnavailable: 5xx or transport failure. Retried with backoff.
	ErrUnavailable = errors.New("service unavailable")
)

var credentialCodes = map[string]bool{
	"InvalidAccessKeyId.NotFound": true, "InvalidAccessKeyId.Inactive": true, "InvalidAccessKeyId": true,
	"SignatureDoesNotMatch": true, "IncompleteSignature": true, "MissingAuthorization": true,
	"InvalidSecurityToken.Expired": true, "InvalidSecurityToken.Malformed": true,
	"InvalidSecurityToken.MismatchWithAccessKey": true, "SignatureNonceUsed": true,
	"InvalidTimeStamp.Expired": true,
}

// APIError is an error answer from the API, with the cloud's code.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// classify turns an SDK or transport error into one of the package's classes,
// with a sentence saying what to do where there is something to do.
func classify(err error) error {
	// A client-side timeout also matches context.DeadlineExceeded; it is a
	// transport failure and retried. The caller checks its own context first.
	for _, class := range []error{ErrMalformed, ErrNoCredentials, ErrCredentials, ErrPermission, ErrParameter,
		ErrBadToken, ErrThrottled, ErrUnavailable} {
		if errors.Is(err, class) {
			return err // classified already
		}
	}
	var sdkErr *tea.SDKError
	if !errors.As(err, &sdkErr) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	api := &APIError{Code: strings.TrimSpace(tea.StringValue(sdkErr.Code)), Message: apiMessage(sdkErr)}
	if sdkErr.StatusCode != nil {
		api.Status = *sdkErr.StatusCode
	}
	switch {
	case credentialCodes[api.Code] || api.Code == "Forbidden.AccessKeyDisabled":
		return fmt.Errorf("%w: %w; check ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or the credentials profile or RAM role)", ErrCredentials, api)
	case api.Code == "Forbidden.RAM" || api.Code == "Operation.Forbidden" || strings.HasPrefix(api.Code, "Forbidden"):
		return fmt.Errorf("%w: %w; grant ecs:DescribeSendFileResults to the archiver's RAM identity", ErrPermission, api)
	case api.Code == "InvalidParameter.NextToken":
		return fmt.Errorf("%w: %w", ErrBadToken, api)
	case strings.HasPrefix(api.Code, "Throttling") || api.Status == 429:
		return fmt.Errorf("%w: %w", ErrThrottled, api)
	case api.Status >= 500 || api.Code == "ServiceUnavailable" || strings.HasPrefix(api.Code, "InternalError"):
		return fmt.Errorf("%w: %w", ErrUnavailable, api)
	case api.Status == 0 && api.Code == "":
		// No answer at all from the API: a transport failure the SDK wrapped.
		return fmt.Errorf("%w: %s", ErrUnavailable, api.Message)
	}
	return fmt.Errorf("%w: %w", ErrParameter, api)
}

// apiMessage drops the SDK's "code: NNN, " prefix and request id suffix, which
// say nothing the APIError does not.
func apiMessage(e *tea.SDKError) string {
	m := tea.StringValue(e.Message)
	if i := strings.Index(m, ", "); strings.HasPrefix(m, "code: ") && i > 0 {
		m = m[i+2:]
	}
	if i := strings.Index(m, " request id:"); i >= 0 {
		m = m[:i]
	}
	return strings.TrimSpace(m)
}

var secretish = regexp.MustCompile(`(?i)(secret|token|password)[^,;\s]*[=:]\s*\S+`)

// redactCredentialError keeps the credential chain's explanation but never a
// value that looks like a secret.
func redactCredentialError(err error) string {
	return secretish.ReplaceAllString(err.Error(), "$1=<redacted>")
}
