// Command archiver keeps a long-term archive of Alibaba Cloud Cloud Assistant
// send-file history (ECS DescribeSendFileResults) in PostgreSQL and answers
// point-in-time questions from it. See the README for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A file size limit (ulimit -f) must fail a write with an error the
	// export cleans up after, not kill the process mid-file.
	signal.Ignore(syscall.SIGXFSZ)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
