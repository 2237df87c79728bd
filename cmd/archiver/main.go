// Command archiver keeps a long-term archive of Alibaba Cloud Cloud Assistant
// send-file history (ECS DescribeSendFileResults) in PostgreSQL and answers
// point-in-time questions from it. See the README for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	// A file size limit (ulimit -f) must fail a write with an error the
	// export cleans up after, not kill the process mid-file.
	signal.Ignore(syscall.SIGXFSZ)
	// Every page leaves short-lived garbage (the decoded page, its events
	// and rows). At Go's default GC target a first ingest spent a seventh
	// of its CPU collecting; four times the live heap halves that for a
	// heap that stays small (a page at a time). GOGC, when set, wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
