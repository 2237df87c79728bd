// Package model is the archive's vocabulary: the Cloud Assistant statuses, the
// aggregate rule, the normalised records the source observes, the known state
// the store keeps, and the events that connect them.
//
// Everything here is pure (no I/O) so that the diff, the projections and the
// point-in-time queries can share one definition of each rule and be tested
// exhaustively without a database.
package model
