package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
	"github.com/cloudassistant/sendfile-archive/store/storetest"
)

const efloSend = model.SourceEFLOSendFileResults

// Registering a task is idempotent, trims the id, and polls are recorded
// until the task is finished, after which it is no longer listed to poll.
func TestTrackedRegisterAndRecordPolls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	first, err := st.Track(ctx, "prod", "cn-wulanchabu", efloSend, " t-abc\n")
	if err != nil || !first.Created || first.State != store.TrackedPolling || first.Target.Account != "prod" || first.Target.ID == 0 {
		t.Fatalf("first Track: %+v %v", first, err)
	}
	again, err := st.Track(ctx, "prod", "cn-wulanchabu", efloSend, "t-abc")
	if err != nil || again.Created || again.Target.ID != first.Target.ID {
		t.Fatalf("second Track: %+v %v", again, err)
	}
	// Only whitespace is trimmed, never letters an escape could stand for.
	if r, err := st.Track(ctx, "prod", "cn-wulanchabu", efloSend, "\vt-def-vtnrfb\t"); err != nil || !r.Created {
		t.Fatal(r, err)
	}
	tasks, err := st.TrackedToPoll(ctx, first.Target.ID)
	if err != nil || len(tasks) != 2 || tasks[0].InvokeID != "t-abc" || tasks[0].Polls != 0 || tasks[0].FoundAt != nil {
		t.Fatalf("TrackedToPoll: %+v %v", tasks, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	done := tasks[0]
	done.State, done.Polls, done.FoundAt, done.LastPolledAt, done.FinishedAt, done.LastStatus =
		store.TrackedDone, 2, &now, &now, &now, model.AggregateSuccess
	if err := st.RecordPoll(ctx, done); err != nil {
		t.Fatal(err)
	}
	left, err := st.TrackedToPoll(ctx, first.Target.ID)
	if err != nil || len(left) != 1 || left[0].InvokeID != "t-def-vtnrfb" {
		t.Fatalf("after t-abc finished: %+v %v", left, err)
	}
	all, err := st.TrackedTasks(ctx, first.Target.ID)
	if err != nil || len(all) != 2 || all[0].State != store.TrackedDone || all[0].Polls != 2 ||
		all[0].LastStatus != model.AggregateSuccess || all[0].FinishedAt == nil || !all[0].FinishedAt.Equal(now) {
		t.Fatalf("TrackedTasks: %+v %v", all, err)
	}
	if again, err := st.Track(ctx, "prod", "cn-wulanchabu", efloSend, "t-abc"); err != nil || again.Created || again.State != store.TrackedDone {
		t.Fatalf("tracking a finished task again: %+v %v", again, err)
	}
	missing := done
	missing.InvokeID = "t-never-registered"
	if err := st.RecordPoll(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RecordPoll of an unregistered task: %v", err)
	}
}

// Tracking without an account picks the only target of that region and
// source; with none yet it creates the unnamed target, which the first
// account to archive the region adopts with its tasks; with several it
// asks for the account.
func TestTrackedAccountDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	r, err := st.Track(ctx, "", "cn-wulanchabu", efloSend, "t-early")
	if err != nil || r.Target.Account != "" || !r.Created {
		t.Fatalf("Track with no target yet: %+v %v", r, err)
	}
	adopted, ok, err := st.EnsureTarget(ctx, "acct-a", "cn-wulanchabu", efloSend)
	if err != nil || !ok || adopted.ID != r.Target.ID {
		t.Fatalf("the first account did not adopt the unnamed target: %+v %t %v", adopted, ok, err)
	}
	again, err := st.Track(ctx, "", "cn-wulanchabu", efloSend, "t-early")
	if err != nil || again.Created || again.Target.ID != r.Target.ID || again.Target.Account != "acct-a" {
		t.Fatalf("Track with the one target: %+v %v", again, err)
	}
	if _, _, err := st.EnsureTarget(ctx, "acct-b", "cn-wulanchabu", efloSend); err != nil {
		t.Fatal(err)
	}
	_, err = st.Track(ctx, "", "cn-wulanchabu", efloSend, "t-late")
	if !errors.Is(err, store.ErrTrackRefused) || !strings.Contains(err.Error(), "name the account") {
		t.Fatalf("Track with two accounts and none named: %v", err)
	}
	b, err := st.Track(ctx, "acct-b", "cn-wulanchabu", efloSend, "t-late")
	if err != nil || !b.Created || b.Target.Account != "acct-b" || b.Target.ID == r.Target.ID {
		t.Fatalf("Track naming acct-b: %+v %v", b, err)
	}
	// A named account adopts an unnamed target just as ingest would.
	u, err := st.Track(ctx, "", "cn-shanghai", model.SourceEFLOCommands, "t-cmd")
	if err != nil || u.Target.Account != "" {
		t.Fatal(u, err)
	}
	named, err := st.Track(ctx, "acct-a", "cn-shanghai", model.SourceEFLOCommands, "t-cmd")
	if err != nil || named.Created || named.Target.ID != u.Target.ID || named.Target.Account != "acct-a" {
		t.Fatalf("Track naming the account of an unnamed target: %+v %v", named, err)
	}
}

func TestTrackedRefusesBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	for _, c := range []struct {
		region string
		src    model.SourceID
		id     string
		want   string
	}{
		{"cn-hangzhou", model.SourceSendFileResults, "f-1", "not tracked"},
		{"cn-hangzhou", "eflo.Nonsense", "t-1", "not tracked"},
		{"cn-hangzhou", efloSend, "  ", "invoke id is empty"},
		{"", efloSend, "t-1", "region is empty"},
	} {
		_, err := st.Track(ctx, "prod", c.region, c.src, c.id)
		if !errors.Is(err, store.ErrTrackRefused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Track(%q, %q, %q): %v, want a refusal saying %q", c.region, c.src, c.id, err, c.want)
		}
	}
	targets, err := st.Targets(ctx)
	if err != nil || len(targets) != 0 {
		t.Fatalf("refused registrations left targets: %+v %v", targets, err)
	}
}

// Automation, connected as a member of archive_writer, registers tasks by
// calling archive.track or by inserting rows, and the archiver (the same
// role) records polls; nobody but the owner deletes them, a row for a
// listed source is refused, and archive_reader only reads.
func TestTrackedWritableByWriterRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	writer := loginIn(t, owner, url, "archive_writer")
	var targetID int64
	var created bool
	if err := writer.QueryRow(ctx, `SELECT target_id, created FROM archive.track('prod', 'cn-wulanchabu', 'eflo.DescribeInvocations', 't-by-sql')`).
		Scan(&targetID, &created); err != nil || !created {
		t.Fatalf("writer calls archive.track: %v (created %t)", err, created)
	}
	if _, err := writer.Exec(ctx, `INSERT INTO archive.tracked (target_id, invoke_id) VALUES ($1, 't-by-insert')`, targetID); err != nil {
		t.Fatalf("writer inserts a row: %v", err)
	}
	if _, err := writer.Exec(ctx, `UPDATE archive.tracked SET polls = polls + 1, state = 'confirming' WHERE target_id = $1`, targetID); err != nil {
		t.Fatalf("writer records a poll: %v", err)
	}
	wantCode := func(c *pgx.Conn, code, stmt string, args ...any) {
		t.Helper()
		_, err := c.Exec(ctx, stmt, args...)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != code {
			t.Errorf("%s: want SQLSTATE %s, got %v", stmt, code, err)
		}
	}
	wantCode(writer, "42501", `DELETE FROM archive.tracked`)
	var ecs int64
	if err := writer.QueryRow(ctx, `INSERT INTO archive.targets (account, region, source) VALUES ('prod', 'cn-hangzhou', 'ecs.DescribeSendFileResults') RETURNING id`).Scan(&ecs); err != nil {
		t.Fatal(err)
	}
	wantCode(writer, "22023", `INSERT INTO archive.tracked (target_id, invoke_id) VALUES ($1, 'f-listed')`, ecs)
	wantCode(writer, "23514", `INSERT INTO archive.tracked (target_id, invoke_id) VALUES ($1, ' t-spaced')`, targetID)

	reader := loginIn(t, owner, url, "archive_reader")
	var n int
	if err := reader.QueryRow(ctx, `SELECT count(*) FROM archive.tracked`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("reader reads archive.tracked: %d %v", n, err)
	}
	wantCode(reader, "42501", `INSERT INTO archive.tracked (target_id, invoke_id) VALUES ($1, 't-reader')`, targetID)
	wantCode(reader, "42501", `UPDATE archive.tracked SET polls = 0`)
}
