-- The event log's fingerprint: what two ingests of the same source must
-- agree on, whoever ran them and when.
--
--   psql -X -A -t -f bench/fingerprint.sql DATABASE_URL
--
-- Every column of every event except the ones that record the run rather
-- than the source: run_id and recorded_at, and so prev_hash and hash, which
-- cover them (DESIGN.md §10.3), and the global id (the sequence's value; it
-- equals the chain position in a one-target archive written without a
-- retried page, but a retried page transaction skips values). The target is
-- named by account, region and source, not by its id. chain_position is
-- included: the order in which the events were appended to the chain.
--
-- One md5 per event, then one per send (its events in seq order), then one
-- over the sends in (account, region, source, invoke_id) order: a single
-- string_agg over ten million events would exceed PostgreSQL's 1 GB limit.
-- Events of no target (there should be none) count under a NULL target.
--
-- With -v sends=FILE it also writes each send's line (account, region,
-- source, invoke id, events, md5) to FILE, so two archives that differ can
-- be compared send by send (sort and join or diff the files).
SET TimeZone = 'UTC';
SET work_mem = '256MB';
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE fingerprint_sends AS
WITH per_event AS (
    SELECT t.account, t.region, t.source, e.invoke_id, e.seq,
           md5(row(e.chain_position, e.instance_id, e.type, e.from_status, e.to_status, e.occurred_at,
                   e.evidence, e.detail, e.payload)::text) AS h
    FROM archive.events e LEFT JOIN archive.targets t ON t.id = e.target_id
), per_send AS (
    SELECT account, region, source, invoke_id, count(*) AS events,
           md5(string_agg(seq || ':' || h, ',' ORDER BY seq)) AS h
    FROM per_event
    GROUP BY account, region, source, invoke_id
)
SELECT * FROM per_send;
\if :{?sends}
\o :sends
SELECT account, region, source, invoke_id, events, h FROM fingerprint_sends ORDER BY account, region, source, invoke_id;
\o
\endif
SELECT count(*) AS sends, sum(events) AS events,
       md5(string_agg(row(account, region, source, invoke_id)::text || '=' || h, E'\n'
                      ORDER BY account, region, source, invoke_id)) AS fingerprint
FROM fingerprint_sends;
