// Package ingest runs the archive's ingest cycle for one target: take the
// target's lease, walk every page of DescribeSendFileResults, diff each page
// against the store and append the events in one transaction per page,
// confirm and record expiries after a complete walk, and record the run.
//
// Data flows one way: source → diff → store. A crash at any point loses
// nothing and duplicates nothing: each page commits atomically, and re-running
// the cycle diffs against what was committed, so it appends exactly the
// events an uninterrupted run would have.
//
// Three things overlap so a walk goes at the pace of its slowest part: the
// next page is fetched while the current one is stored (read-ahead), the
// next page is diffed and written while the current page's transaction
// commits (the recorder: two page transactions at a time, see
// store.WithPageAfter), and targets of different accounts and regions walk
// at once (the runner). Page transactions still commit one at a time, in
// the walk's order.
package ingest
