-- Indexes that serve measured queries, and no others (BENCHMARKS.md, the
-- one-year archive: 10.1M events).
--
-- * (invoke_id, target_id, seq), unique, replaces (target_id, invoke_id, seq)
--   and (invoke_id, instance_id, occurred_at): every lookup by send (status,
--   history, "as known at", the fold, exports) has the invoke id, most
--   without the target; one index serves them all.
-- * (target_id, chain_position) becomes the primary key (it already was
--   unique): the chain order of verify and checkpoints. The id column stays
--   as the recording order, without an index no query needs.
-- * occurred_at and recorded_at get BRIN indexes instead of a B-tree: events
--   are appended roughly in time order, so a period's blocks are found from
--   a few kilobytes of summaries, whatever the archive's age, and a period
--   query costs what the period holds.
-- * The projections are keyed invoke id first too, so a verification reads
--   them and the events in the same order from their indexes.

-- +goose Up
ALTER TABLE archive.events DROP CONSTRAINT events_target_id_invoke_id_seq_key;
ALTER TABLE archive.events ADD CONSTRAINT events_invocation_seq UNIQUE (invoke_id, target_id, seq);
DROP INDEX archive.events_point_in_time;
ALTER TABLE archive.events DROP CONSTRAINT events_pkey;
ALTER TABLE archive.events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_chain_position;
DROP INDEX archive.events_occurred;
CREATE INDEX events_occurred_brin ON archive.events USING brin (occurred_at);
CREATE INDEX events_recorded_brin ON archive.events USING brin (recorded_at);

ALTER TABLE archive.instances DROP CONSTRAINT instances_target_id_invoke_id_fkey;
ALTER TABLE archive.invocations DROP CONSTRAINT invocations_pkey;
ALTER TABLE archive.invocations ADD CONSTRAINT invocations_pkey PRIMARY KEY (invoke_id, target_id);
ALTER TABLE archive.instances DROP CONSTRAINT instances_pkey;
ALTER TABLE archive.instances ADD CONSTRAINT instances_pkey PRIMARY KEY (invoke_id, target_id, instance_id);
ALTER TABLE archive.instances ADD CONSTRAINT instances_invocation_fkey
    FOREIGN KEY (invoke_id, target_id) REFERENCES archive.invocations (invoke_id, target_id);

-- +goose Down
ALTER TABLE archive.instances DROP CONSTRAINT instances_invocation_fkey;
ALTER TABLE archive.instances DROP CONSTRAINT instances_pkey;
ALTER TABLE archive.instances ADD CONSTRAINT instances_pkey PRIMARY KEY (target_id, invoke_id, instance_id);
ALTER TABLE archive.invocations DROP CONSTRAINT invocations_pkey;
ALTER TABLE archive.invocations ADD CONSTRAINT invocations_pkey PRIMARY KEY (target_id, invoke_id);
ALTER TABLE archive.instances ADD CONSTRAINT instances_target_id_invoke_id_fkey
    FOREIGN KEY (target_id, invoke_id) REFERENCES archive.invocations (target_id, invoke_id);

DROP INDEX archive.events_recorded_brin;
DROP INDEX archive.events_occurred_brin;
CREATE INDEX events_occurred ON archive.events (occurred_at);
ALTER TABLE archive.events DROP CONSTRAINT events_pkey;
CREATE UNIQUE INDEX events_chain_position ON archive.events (target_id, chain_position);
ALTER TABLE archive.events ADD CONSTRAINT events_pkey PRIMARY KEY (id);
CREATE INDEX events_point_in_time ON archive.events (invoke_id, instance_id, occurred_at);
ALTER TABLE archive.events DROP CONSTRAINT events_invocation_seq;
ALTER TABLE archive.events ADD CONSTRAINT events_target_id_invoke_id_seq_key UNIQUE (target_id, invoke_id, seq);
