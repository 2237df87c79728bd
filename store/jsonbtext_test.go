package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

// JSONBText must print every document exactly as PostgreSQL prints it back
// from jsonb, or the chain would hash something verify cannot reproduce.
// Thousands of random documents (nested objects and arrays, keys of every
// length and order, numbers with fractions, exponents and signs, strings
// with control characters, NUL, quotes, backslashes and non-ASCII) and the
// awkward ones the cloud sends are compared with PostgreSQL's own output.
func TestJSONBTextMatchesPostgreSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	docs := []string{
		`{"b": 1, "a": [1, 2.50, -0, 1e2, 1.5E-3, 0.0], "c": {"z": null, "y": true}}`,
		`{"Overwrite": false, "FileMode": 777, "TotalCount": "12", "TargetDir": "\t/home/user", "T": "2023-04-10T10:53:46.156+08:00\n"}`,
		`{"s": "<tag> & \u2028 \u00e9 \ud83d\ude00 / \u007f", "nul": "a\u0000b", "long": 123456789012345678901234567890}`,
		`{"ErrorCode": " NodeNotExists", "bad": "\ud800", "ctl": "\u0001\u001f\b\f"}`,
		`[]`, `{}`, `"x"`, `-12.000`, `[[], {}, [{}]]`, `{"a\u0000": 1, "a\ufffd": 2}`,
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 3000 {
		b, _ := json.Marshal(randomJSON(rng, 3))
		docs = append(docs, string(b))
	}
	// PostgreSQL parses the document itself where it can; jsonb refuses
	// U+0000 and lone surrogates, so a document with one is compared as the
	// archive stores it: JSONBText's output, which must print back unchanged.
	var mine, inputs []string
	for _, d := range docs {
		text, err := store.JSONBText([]byte(d))
		if err != nil {
			t.Fatalf("jsonb text %s: %v", d, err)
		}
		input := d
		if strings.Contains(d, `\u0000`) || strings.Contains(d, `\ud800"`) {
			input = string(text)
		}
		inputs, mine = append(inputs, input), append(mine, string(text))
	}
	rows, err := s.Pool().Query(ctx, `SELECT u.d::jsonb::text FROM unnest($1::text[]) WITH ORDINALITY AS u(d, i) ORDER BY u.i`, inputs)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(theirs) != len(docs) {
		t.Fatalf("%d of %d documents back: %v", len(theirs), len(docs), err)
	}
	for i := range docs {
		if theirs[i] != mine[i] {
			t.Fatalf("document %d %s:\n PostgreSQL %s\n JSONBText  %s", i, docs[i], theirs[i], mine[i])
		}
	}
}

// randomJSON is a random JSON value; numbers come as json.Number so their
// spelling (exponents, trailing zeros, signs) is random too.
func randomJSON(rng *rand.Rand, depth int) any {
	kind := rng.IntN(7)
	if depth == 0 {
		kind = rng.IntN(4)
	}
	switch kind {
	case 0:
		return randomString(rng)
	case 1:
		return randomNumber(rng)
	case 2:
		return []any{nil, true, false}[rng.IntN(3)]
	case 3:
		return randomString(rng)
	case 4, 5:
		m := map[string]any{}
		for range rng.IntN(6) {
			m[randomString(rng)] = randomJSON(rng, depth-1)
		}
		return m
	}
	a := make([]any, rng.IntN(4))
	for i := range a {
		a[i] = randomJSON(rng, depth-1)
	}
	return a
}

func randomString(rng *rand.Rand) string {
	alphabet := []string{"a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\r", "\b", "\f", "\x01", "\x1f", "\x7f",
		"\x00", "é", "中", "😀", "\u2028", "<", "&", "InstanceId", "ErrorCode"}
	var sb strings.Builder
	for range rng.IntN(8) {
		sb.WriteString(alphabet[rng.IntN(len(alphabet))])
	}
	return sb.String()
}

func randomNumber(rng *rand.Rand) json.Number {
	var sb strings.Builder
	if rng.IntN(3) == 0 {
		sb.WriteByte('-')
	}
	if rng.IntN(4) == 0 {
		sb.WriteByte('0')
	} else {
		fmt.Fprintf(&sb, "%d", rng.Int64N(1_000_000_000))
	}
	if rng.IntN(2) == 0 {
		fmt.Fprintf(&sb, ".%0*d", 1+rng.IntN(4), rng.IntN(1000))
	}
	if rng.IntN(3) == 0 {
		fmt.Fprintf(&sb, "%s%s%d", []string{"e", "E"}[rng.IntN(2)], []string{"", "+", "-"}[rng.IntN(3)], rng.IntN(12))
	}
	return json.Number(sb.String())
}
