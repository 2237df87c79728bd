package cloudsim

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// entryKey orders the entries of the command listings: the task's sort key
// (listed newest first), then the entry's position within its task.
type entryKey struct {
	k   sortKey
	sub int
}

// listedAfter reports whether a comes after b in listing order.
func (a entryKey) listedAfter(b entryKey) bool {
	if a.k != b.k {
		return a.k.less(b.k)
	}
	return a.sub > b.sub
}

// encodeEntryToken makes a NextToken from the last returned entry's key.
// Like send-file tokens it encodes the key, not an offset, so a walk stays
// stable while tasks arrive; kind and region are bound in so a token
// cannot be replayed against another listing. The "2" version keeps these
// apart from send-file tokens.
func encodeEntryToken(kind, region string, k entryKey) string {
	raw := fmt.Sprintf("2|%s|%s|%d|%s|%d", kind, region, k.k.ms, k.k.id, k.sub)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeEntryToken(token, kind, region string) (entryKey, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return entryKey{}, false
	}
	p := strings.Split(string(raw), "|")
	if len(p) != 6 || p[0] != "2" || p[1] != kind || p[2] != region || !strings.HasPrefix(p[4], "t-") {
		return entryKey{}, false
	}
	ms, err1 := strconv.ParseInt(p[3], 10, 64)
	sub, err2 := strconv.Atoi(p[5])
	if err1 != nil || err2 != nil || sub < 0 {
		return entryKey{}, false
	}
	return entryKey{sortKey{ms, p[4]}, sub}, true
}

// pageWindow picks the window [lo, hi) of n entries in listing order for
// q's paging mode, exactly as send-file pages, and the NextToken of the
// page after it.
func pageWindow(n int, key func(int) entryKey, q *listRequest, kind string) (lo, hi int, next string, e *apiError) {
	if q.tokenMode {
		if q.rawToken != "" {
			after, ok := decodeEntryToken(q.rawToken, kind, q.region)
			if !ok {
				return 0, 0, "", errNextToken
			}
			lo = sort.Search(n, func(i int) bool { return key(i).listedAfter(after) })
		}
		hi = min(n, lo+q.maxResults)
		if hi < n && hi > lo {
			next = encodeEntryToken(kind, q.region, key(hi-1))
		}
		if q.loopToken && q.rawToken != "" {
			next = q.rawToken
		}
		return lo, hi, next, nil
	}
	size := int64(q.pageSize)
	lo = n
	if q.pageNumber-1 <= (int64(n)+size)/size {
		lo = int(min(int64(n), (q.pageNumber-1)*size))
	}
	return lo, min(n, lo+q.pageSize), "", nil
}

// pageMeta is the paging part of a command listing's answer.
type pageMeta struct {
	total              int
	pageSize           int
	pageNumber         int64
	nextToken          string
	requestID, version string
}

// meta fills the paging fields the way send-file does: in token mode
// PageNumber 1 and PageSize MaxResults.
func (q *listRequest) meta(total int, next, requestID string) pageMeta {
	m := pageMeta{total: total, nextToken: next, requestID: requestID}
	if q.tokenMode {
		m.pageSize, m.pageNumber = q.maxResults, 1
	} else {
		m.pageSize, m.pageNumber = q.pageSize, q.pageNumber
	}
	return m
}
