// Package query answers questions from the event log: the status of a send
// and of each of its instances at any valid time T, optionally as the archive
// knew it at transaction time K; the history of a send; and verification of
// every target's hash chain.
//
// The point-in-time rule lives in one pure function (StatusAt) that the SQL
// function archive.instance_status_at mirrors; tests hold the two equal.
package query
