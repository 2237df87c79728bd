// Package e2e holds the process-level reliability tests: real archiver
// processes (built from ./cmd/archiver) against the simulator over loopback
// and a real PostgreSQL, killed, signalled, run concurrently and cut off from
// the database, with the archive compared against uninterrupted runs.
package e2e
