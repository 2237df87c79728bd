package query_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

var statementEnd = regexp.MustCompile(`;[ \t]*(?:--[^\n]*)?\n`)

// analystExamples returns the SQL statements of the README's analyst
// section (the role setup block aside).
func analystExamples(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "## For the data analyst")
	end := strings.Index(text[start:], "\n## ")
	section := text[start : start+end]
	var out []string
	for _, m := range regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(section, -1) {
		if strings.Contains(m[1], "CREATE ROLE") {
			continue
		}
		// A statement ends at a semicolon ending its line, a trailing
		// comment allowed ("SELECT …;   -- PartialFailed").
		for _, stmt := range statementEnd.Split(m[1], -1) {
			var lines []string
			for _, l := range strings.Split(stmt, "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
					lines = append(lines, l)
				}
			}
			if len(lines) > 0 {
				out = append(out, strings.TrimSuffix(strings.Join(lines, "\n"), ";"))
			}
		}
	}
	return out
}

// Every example of the README's analyst section runs, as the read-only
// role, against a real archive; those about one send return rows for it.
func TestREADMEAnalystExamples(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, url := archive(t)
	examples := analystExamples(t)
	if len(examples) < 10 {
		t.Fatalf("found %d examples in the README's analyst section", len(examples))
	}
	var invokeID string
	if err := st.Pool().QueryRow(ctx, `SELECT invoke_id FROM archive.invocations ORDER BY creation_time LIMIT 1`).Scan(&invokeID); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	role := fmt.Sprintf("t_analyst_%d", rand.Uint32())
	if _, err := owner.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN IN ROLE archive_reader`, role)); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = role, ""
	reader, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(ctx)
	for _, q := range examples {
		q = strings.ReplaceAll(q, "f-hz0jdfwd9f0001", invokeID)
		rows, err := reader.Query(ctx, q)
		if err != nil {
			t.Errorf("%s\n: %v", q, err)
			continue
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			t.Errorf("%s\n: %v", q, err)
		}
		if strings.Contains(q, invokeID) && !strings.Contains(q, "<> 'Success'") && n == 0 {
			t.Errorf("%s\n: no rows for a send the archive holds", q)
		}
	}
}
