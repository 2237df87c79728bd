package cloudsim

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

// goldenSendFileHashes are SHA-256 sums of send-file bodies computed with the
// code as it was before command tasks, EFLO and AssumeRole existed. With the
// new rates at zero, the same seed must keep rendering byte-identical
// bodies.
var goldenSendFileHashes = map[bool]string{
	false: "082cce2a08e0521d14c554303370d03f412277eaabdef4684d382e6349521801",
	true:  "b255c40fea5c84b201b680a54acbb89fc616bb54372a12d9a8a5f48680362f6a",
}

// goldenBodies renders a fixed sequence of send-file pages for one seed.
func goldenBodies(t *testing.T, quirks bool) string {
	t.Helper()
	s := newSim(t, func(c *Config) {
		c.Quirks = quirks
		c.SendsPerDay = 60
		c.Regions = []string{"cn-hangzhou", "cn-beijing"}
		c.MaxRecords = 120
	})
	s.Advance(5*24*time.Hour + 7*time.Minute)
	h := sha256.New()
	for _, q := range []map[string]string{
		{"RegionId": "cn-hangzhou", "MaxResults": "50"},
		{"RegionId": "cn-beijing", "PageNumber": "2", "PageSize": "20"},
		{"RegionId": "cn-hangzhou", "InvocationStatus": "Success"},
	} {
		w := do(s, signedRequest(t, "example.com", q, defaultCreds, nil))
		if w.Code != 200 || len(w.Body.String()) < 1000 {
			t.Fatalf("%v: %d %.200s", q, w.Code, w.Body.String())
		}
		h.Write([]byte(w.Body.String()))
		h.Write([]byte(w.Header().Get("x-acs-request-id")))
	}
	st := s.Stats()
	h.Write([]byte{byte(st.Requests), byte(st.Served)})
	return hex.EncodeToString(h.Sum(nil))
}

func TestSendFileBodiesUnchanged(t *testing.T) {
	t.Parallel()
	for quirks, want := range goldenSendFileHashes {
		if got := goldenBodies(t, quirks); got != want {
			t.Errorf("quirks=%t: body hash %s, want %s", quirks, got, want)
		}
	}
}
