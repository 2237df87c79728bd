// Package store is the archive's PostgreSQL layer (pgx/v5): the connection
// pool, the page transaction that appends events and updates projections, the
// per-target hash chain, ingest runs, and target leases.
//
// It knows nothing of the ECS API or of how events are computed: it stores
// what ingest hands it and reads back what query asks for. All SQL is
// parameterised. Errors from pgx are mapped to the package's sentinels in one
// place (interpretError).
package store
