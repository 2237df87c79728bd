package cloudsim

import (
	"encoding/json"
	"net/http"
	"net/url"
)

// outcome says which Stats counter a request lands in.
type outcome int

const (
	outServed outcome = iota
	outThrottled
	outServerError
	outAuthFailure
	outBadRequest
	outMalformed
	outLoopToken
	outGarbage
)

// apiError is an error answer in the cloud's shape. Messages are the ones
// the reference documentation (or, for platform errors, the cloud) uses, so
// clients can be tested against realistic text.
type apiError struct {
	status  int
	code    string
	message string
	outcome outcome
}

func paramError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message, outcome: outBadRequest}
}

func authError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message, outcome: outAuthFailure}
}

// Errors of DescribeSendFileResults itself, from its error table.
var (
	errMissingRegion  = paramError(400, "MissingRegionId", "RegionId is mandatory for this action.")
	errRegionNotFound = paramError(404, "InvalidRegionId.NotFound", "The RegionId provided does not exist in our records.")
	errMaxResults     = paramError(400, "InvalidParameter.MaxResults", "The specified parameter MaxResults is not valid.")
	errNextToken      = paramError(400, "InvalidParameter.NextToken", "The specified parameter NextToken is not valid.")
	errPageNumber     = paramError(400, "InvalidParam.PageNumber", "The specified parameter is invalid.")
	errPageSize       = paramError(400, "InvalidParam.PageSize", "The specified parameter is invalid.")
	errTagsCount      = paramError(400, "NumberExceed.Tags", "The Tags parameter number is exceed.")
	errTagKeyMissing  = paramError(400, "MissingParameter.TagKey", "You must specify Tag.N.Key.")
	errTagKeyDup      = paramError(400, "Duplicate.TagKey", "The Tag.N.Key contain duplicate key.")
	errTagKey         = paramError(400, "InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid.")
	errTagValue       = paramError(400, "InvalidTagValue.Malformed", "The specified Tag.n.Value is not valid.")
)

// Platform (gateway) errors shared by every ECS operation.
var (
	errBadQuery      = paramError(400, "InvalidParameter", "The request parameters could not be parsed.")
	errBadBody       = paramError(400, "InvalidParameter", "The request body could not be read.")
	errUnknownPath   = paramError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
	errUnknownAction = paramError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
	errMissingAction = paramError(400, "MissingParameter", `The input parameter "Action" that is mandatory for processing this request is not supplied.`)
	errMissingVer    = paramError(400, "MissingParameter", `The input parameter "Version" that is mandatory for processing this request is not supplied.`)
	errBadVersion    = paramError(400, "InvalidVersion", "Specified parameter Version is not valid.")

	errMissingAuth   = authError(400, "MissingAuthorization", "Authorization is mandatory for this action.")
	errIncompleteSig = authError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
	errUnknownKey    = authError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	errSignature     = authError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
	errMissingToken  = authError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
	errTokenMismatch = authError(400, "InvalidSecurityToken.Mismatch", "Specified SecurityToken mismatch with the AccessKey.")

	errThrottleUser = &apiError{400, "Throttling.User", "Request was denied due to user flow control.", outThrottled}
	errThrottleAPI  = &apiError{400, "Throttling.Api", "Request was denied due to api flow control.", outThrottled}
	errDispatch     = &apiError{500, "InternalError.Dispatch", "An error occurred when you dispatch the request. Please try again later.", outServerError}
	errUnavailable  = &apiError{503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.", outServerError}
)

// hostID is what the cloud puts in HostId for the central ECS endpoint.
const hostID = "ecs.aliyuncs.com"

// errorBody is the cloud's error document; field order follows the cloud.
type errorBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
}

func writeAPIError(w http.ResponseWriter, requestID string, e *apiError) {
	if e.outcome == outThrottled {
		// A hint in seconds; the cloud's flow control lifts within one.
		w.Header().Set("Retry-After", "1")
	}
	body, _ := json.Marshal(errorBody{
		RequestID: requestID,
		HostID:    hostID,
		Code:      e.code,
		Message:   e.message,
		Recommend: "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code) + "&product=Ecs&requestId=" + requestID,
	})
	writeJSONBody(w, requestID, e.status, body)
}

func writeJSONBody(w http.ResponseWriter, requestID string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	if requestID != "" {
		h.Set("x-acs-request-id", requestID)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away; nothing useful to do
}
