package store_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// CanonicalJSON must be reproducible from what jsonb hands back, or verify
// would flag honest events. Round-trip awkward documents through PostgreSQL.
func TestCanonicalJSONSurvivesJSONB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	docs := []string{
		`{"b": 1, "a": [1, 2.50, -0, 1e2, 1.5E-3, 0.0], "c": {"z": null, "y": true}}`,
		`{"Overwrite": false, "FileMode": 777, "TotalCount": "12", "TargetDir": "\t/home/user", "T": "2023-04-10T10:53:46.156+08:00\n"}`,
		`{"s": "<tag> & \u2028 \u00e9 \ud83d\ude00", "nul": "a\u0000b", "long": 123456789012345678901234567890}`,
		`{"ErrorCode": " NodeNotExists", "bad": "\ud800"}`,
		`[]`, `{}`, `"x"`, `-12.000`,
	}
	for _, d := range docs {
		canon, err := store.CanonicalJSON([]byte(d))
		if err != nil {
			t.Fatalf("canonical %s: %v", d, err)
		}
		var back string
		if err := s.Pool().QueryRow(ctx, `SELECT ($1::text)::jsonb::text`, string(canon)).Scan(&back); err != nil {
			t.Fatalf("jsonb %s: %v", canon, err)
		}
		again, err := store.CanonicalJSON([]byte(back))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(canon, again) {
			t.Errorf("canonical form not stable through jsonb:\n in  %s\n out %s\n via %s", canon, again, back)
		}
	}
}
