package cloudsim

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Paging limits from the reference documentation.
const (
	maxPageSize     = 50
	defaultPageSize = 10
	maxTags         = 20
	maxTagKeyLen    = 64
	maxTagValueLen  = 128
)

type tagFilter struct {
	key      string
	value    string
	hasValue bool
}

// listRequest is a validated DescribeSendFileResults request.
type listRequest struct {
	region        string
	invokeID      string
	name          string
	instanceID    string
	status        string
	resourceGroup string
	tags          []tagFilter

	// tokenMode is set when MaxResults or NextToken is present; then the
	// PageNumber/PageSize parameters are ignored, as documented.
	tokenMode  bool
	maxResults int
	rawToken   string
	pageNumber int64
	pageSize   int

	// loopToken answers with the request's own NextToken (an injected
	// fault; see Faults.LoopTokenRate).
	loopToken bool
}

func (q *listRequest) filtered() bool {
	return q.invokeID != "" || q.name != "" || q.instanceID != "" || q.status != "" ||
		q.resourceGroup != "" || len(q.tags) > 0
}

// parseListRequest validates the parameters. Region existence is checked
// later, against the simulator's configuration.
func parseListRequest(p url.Values) (*listRequest, *apiError) {
	q := &listRequest{
		region:        p.Get("RegionId"),
		invokeID:      p.Get("InvokeId"),
		name:          p.Get("Name"),
		instanceID:    p.Get("InstanceId"),
		status:        p.Get("InvocationStatus"),
		resourceGroup: p.Get("ResourceGroupId"),
	}
	if q.region == "" {
		return nil, errMissingRegion
	}
	_, hasMax := p["MaxResults"]
	_, hasToken := p["NextToken"]
	if hasMax || hasToken {
		q.tokenMode = true
		q.maxResults = defaultPageSize
		q.rawToken = p.Get("NextToken")
		if hasMax {
			n, err := strconv.Atoi(p.Get("MaxResults"))
			if err != nil || n < 1 || n > maxPageSize {
				return nil, errMaxResults
			}
			q.maxResults = n
		}
	} else {
		q.pageNumber, q.pageSize = 1, defaultPageSize
		if v, ok := p["PageNumber"]; ok {
			n, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil || n < 1 {
				return nil, errPageNumber
			}
			q.pageNumber = n
		}
		if v, ok := p["PageSize"]; ok {
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > maxPageSize {
				return nil, errPageSize
			}
			q.pageSize = n
		}
	}
	tags, e := parseTags(p)
	if e != nil {
		return nil, e
	}
	q.tags = tags
	return q, nil
}

// parseTags reads the flattened Tag.N.Key / Tag.N.Value parameters.
func parseTags(p url.Values) ([]tagFilter, *apiError) {
	type entry struct {
		key, value       string
		hasKey, hasValue bool
	}
	byN := map[int]*entry{}
	for name, vals := range p {
		rest, ok := strings.CutPrefix(name, "Tag.")
		if !ok {
			continue
		}
		num, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 1 || (field != "Key" && field != "Value") {
			return nil, errTagKey
		}
		if n > maxTags {
			return nil, errTagsCount
		}
		e := byN[n]
		if e == nil {
			e = &entry{}
			byN[n] = e
		}
		if field == "Key" {
			e.key, e.hasKey = vals[0], true
		} else {
			e.value, e.hasValue = vals[0], true
		}
	}
	ns := make([]int, 0, len(byN))
	for n := range byN {
		ns = append(ns, n)
	}
	sort.Ints(ns) // report the first bad tag deterministically
	seen := map[string]bool{}
	var out []tagFilter
	for _, n := range ns {
		e := byN[n]
		switch {
		case !e.hasKey:
			return nil, errTagKeyMissing
		case !validTagKey(e.key):
			return nil, errTagKey
		case e.hasValue && !validTagValue(e.value):
			return nil, errTagValue
		case seen[e.key]:
			return nil, errTagKeyDup
		}
		seen[e.key] = true
		out = append(out, tagFilter{key: e.key, value: e.value, hasValue: e.hasValue})
	}
	return out, nil
}

// validTagKey applies the documented constraints on tag keys.
func validTagKey(k string) bool {
	return k != "" && len(k) <= maxTagKeyLen &&
		!strings.Contains(k, "http://") && !strings.Contains(k, "https://") &&
		!strings.HasPrefix(k, "acs:") && !strings.HasPrefix(k, "aliyun")
}

func validTagValue(v string) bool {
	return len(v) <= maxTagValueLen && !strings.Contains(v, "http://") && !strings.Contains(v, "https://")
}

// encodeToken makes a NextToken from the last returned record's sort key.
// Encoding the key (not an offset) is what keeps a walk stable while new
// sends arrive at the head of the listing between pages. The region is
// bound in so a token cannot be replayed against another region.
func encodeToken(region string, k sortKey) string {
	raw := fmt.Sprintf("1|%s|%d|%s", region, k.ms, k.id)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeToken(token, region string) (sortKey, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return sortKey{}, false
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 || parts[0] != "1" || parts[1] != region || !validInvokeID(parts[3]) {
		return sortKey{}, false
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return sortKey{}, false
	}
	return sortKey{ms: ms, id: parts[3]}, true
}

func validInvokeID(id string) bool {
	rest, ok := strings.CutPrefix(id, "f-")
	if !ok || len(rest) != 20 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if !strings.ContainsRune(alnum, rune(rest[i])) {
			return false
		}
	}
	return true
}

// matches applies every filter (they combine with AND).
func (q *listRequest) matches(snd *send, now time.Time) bool {
	t := &snd.truth
	if q.invokeID != "" && t.InvokeID != q.invokeID ||
		q.name != "" && t.Name != q.name ||
		q.resourceGroup != "" && t.ResourceGroupID != q.resourceGroup {
		return false
	}
	for _, f := range q.tags {
		found := false
		for _, tag := range t.Tags {
			if tag.Key == f.key && (!f.hasValue || tag.Value == f.value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if q.instanceID != "" {
		found := false
		for i := range t.Instances {
			if t.Instances[i].InstanceID == q.instanceID {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if q.status != "" && snd.aggregateAt(now) != q.status {
		return false
	}
	return true
}

// list answers a validated request at the current instant. It must be
// called with s.mu held; the body it returns is a fresh slice.
func (s *Sim) list(q *listRequest, requestID string) ([]byte, *apiError) {
	r := s.byName[q.region]
	if r == nil {
		return nil, errRegionNotFound
	}
	now := s.now
	var (
		picked []*send
		total  int
		next   string
	)
	if q.tokenMode {
		var e *apiError
		var shuffle *int64
		if s.cfg.ShuffledListing {
			shuffle = &s.cfg.Seed
		}
		if picked, total, next, e = q.tokenPage(r, now, shuffle); e != nil {
			return nil, e
		}
	} else {
		picked, total = q.numberedPage(r, now)
	}

	if q.loopToken && q.rawToken != "" {
		next = q.rawToken
	}
	h := pageHeader{
		requestID:  requestID,
		totalCount: total,
		nextToken:  next,
	}
	if q.tokenMode {
		h.pageSize, h.pageNumber = q.maxResults, 1
	} else {
		h.pageSize, h.pageNumber = q.pageSize, q.pageNumber
	}
	if s.cfg.Quirks {
		// Stable per request shape, so repeating a request repeats the
		// rendering, while a walk over several pages meets both shapes.
		pageKey := fmt.Sprintf("%t|%d|%s|%d|%d", q.tokenMode, q.maxResults, q.rawToken, q.pageNumber, q.pageSize)
		h.totalAsString = hashSeed(s.cfg.Seed, "TotalCount", q.region, pageKey)%2 == 0
	}
	for _, snd := range picked {
		if q.instanceID != "" {
			body, _ := s.renderSend(nil, snd, now, q.instanceID)
			h.invocationJSON = append(h.invocationJSON, body)
		} else {
			h.invocationJSON = append(h.invocationJSON, s.cachedBody(snd, now))
		}
	}
	return renderPage(h), nil
}

// tokenPage picks a MaxResults/NextToken page: the records strictly after
// the token in listing order (those with a smaller key, the prefix
// list[:start]), newest first, and the token of the page after it. With
// Config.ShuffledListing the listing order is a fixed pseudo-random one
// instead of newest first.
func (q *listRequest) tokenPage(r *region, now time.Time, shuffleSeed *int64) (picked []*send, total int, next string, e *apiError) {
	list, keyOf := r.list, func(s *send) sortKey { return s.key }
	if shuffleSeed != nil {
		list, keyOf = shuffled(r.list, *shuffleSeed)
	}
	start := len(list)
	if q.rawToken != "" {
		after, ok := decodeToken(q.rawToken, q.region)
		if !ok {
			return nil, 0, "", errNextToken
		}
		start = sort.Search(len(list), func(i int) bool { return !keyOf(list[i]).less(after) })
	}
	if !q.filtered() {
		lo := max(0, start-q.maxResults)
		for i := start - 1; i >= lo; i-- {
			picked = append(picked, list[i])
		}
		if lo > 0 {
			next = encodeToken(q.region, keyOf(picked[len(picked)-1]))
		}
		return picked, len(list), next, nil
	}
	for i := len(list) - 1; i >= 0; i-- {
		snd := list[i]
		if !q.matches(snd, now) {
			continue
		}
		total++
		if i >= start {
			continue
		}
		if len(picked) < q.maxResults {
			picked = append(picked, snd)
		} else if next == "" {
			next = encodeToken(q.region, keyOf(picked[len(picked)-1]))
		}
	}
	return picked, total, next, nil
}

// shuffled orders a region's sends by a hash of their ids: a listing order
// that is stable from one request to the next (so pagination works) but has
// nothing to do with creation time, which the API never promised.
func shuffled(list []*send, seed int64) ([]*send, func(*send) sortKey) {
	keyOf := func(s *send) sortKey {
		return sortKey{ms: int64(hashSeed(seed, "listing-order", s.key.id) >> 1), id: s.key.id}
	}
	out := append([]*send(nil), list...)
	sort.Slice(out, func(i, j int) bool { return keyOf(out[i]).less(keyOf(out[j])) })
	return out, keyOf
}

// numberedPage picks a PageNumber/PageSize page, newest first.
func (q *listRequest) numberedPage(r *region, now time.Time) (picked []*send, total int) {
	size := int64(q.pageSize)
	offset := int64(-1) // beyond every listing when the product overflows
	if q.pageNumber-1 <= (int64(len(r.list))+size)/size {
		offset = (q.pageNumber - 1) * size
	}
	if !q.filtered() {
		if offset >= 0 && offset < int64(len(r.list)) {
			hi := len(r.list) - 1 - int(offset)
			for i := hi; i >= 0 && len(picked) < q.pageSize; i-- {
				picked = append(picked, r.list[i])
			}
		}
		return picked, len(r.list)
	}
	for i := len(r.list) - 1; i >= 0; i-- {
		snd := r.list[i]
		if !q.matches(snd, now) {
			continue
		}
		if offset >= 0 && int64(total) >= offset && len(picked) < q.pageSize {
			picked = append(picked, snd)
		}
		total++
	}
	return picked, total
}
