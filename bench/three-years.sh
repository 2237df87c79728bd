#!/usr/bin/env bash
# Builds a three-year archive from a one-year one, for measuring whether a
# query over the most recent month costs the same on one year and on three
# (BENCHMARKS.md, "Years, not months").
#
#   bench/three-years.sh SOURCE_URL TARGET_URL
#
# SOURCE_URL is a migrated archive built by the archiver from the
# simulator's one-year fleet; TARGET_URL an empty, migrated database. The
# two older years are the source's year shifted back by one and two years,
# under two more targets (accounts "year-minus-2" and "year-minus-1") with
# their own invoke ids, written first so that, as in a real archive, older
# events come first on disk. Their hashes are copied, not recomputed: they
# exist to give the archive the size of three years, not to be verified.
set -euo pipefail
src=$1 dst=$2

events="target_id, invoke_id, instance_id, seq, type, from_status, to_status, occurred_at, recorded_at, evidence,
  run_id, detail, payload, prev_hash, hash, chain_position"

copy() { # shift, target id in the destination, invoke id prefix, account
  local shift=$1 tid=$2 prefix=$3 account=$4 t="interval '$1'"
  psql "$dst" -qc "INSERT INTO archive.targets (id, account, region, source) OVERRIDING SYSTEM VALUE
    VALUES ($tid, '$account', 'cn-hangzhou', 'ecs.DescribeSendFileResults') ON CONFLICT DO NOTHING"
  psql "$src" -qc "COPY (SELECT $tid, '$prefix' || invoke_id, instance_id, seq, type, from_status, to_status,
      occurred_at - $t, recorded_at - $t, evidence, NULL, detail, payload, prev_hash, hash, chain_position
      FROM archive.events ORDER BY target_id, chain_position) TO STDOUT" |
    psql "$dst" -qc "COPY archive.events ($events) FROM STDIN"
  psql "$src" -qc "COPY (SELECT $tid, '$prefix' || invoke_id, name, description, content_sha256, content_type, target_dir,
      file_owner, file_group, file_mode, overwrite, vm_count, creation_time - $t, tags, reported_status, derived_status,
      disagreements, expired_at - $t, last_seq, last_occurred_at - $t FROM archive.invocations) TO STDOUT" |
    psql "$dst" -qc "COPY archive.invocations FROM STDIN"
  psql "$src" -qc "COPY (SELECT $tid, '$prefix' || invoke_id, instance_id, status, status_since - $t, last_occurred_at - $t,
      creation_time - $t, start_time - $t, finish_time - $t, error_code, error_info FROM archive.instances) TO STDOUT" |
    psql "$dst" -qc "COPY archive.instances FROM STDIN"
  psql "$src" -qc "COPY (SELECT $tid, '$prefix' || invoke_id, instance_id, valid_from - $t, valid_to - $t, status,
      status_since - $t, error_code, error_info FROM archive.instance_intervals) TO STDOUT" |
    psql "$dst" -qc "COPY archive.instance_intervals (target_id, invoke_id, instance_id, valid_from, valid_to, status,
      status_since, error_code, error_info) FROM STDIN"
  psql "$src" -qc "COPY (SELECT $tid, '$prefix' || invoke_id, valid_from - $t, valid_to - $t, status
      FROM archive.send_intervals) TO STDOUT" |
    psql "$dst" -qc "COPY archive.send_intervals (target_id, invoke_id, valid_from, valid_to, status) FROM STDIN"
}

copy '2 years' 1002 'y2-' year-minus-2
copy '1 year' 1001 'y1-' year-minus-1
copy '0 days' 1000 '' current
psql "$dst" -qc "VACUUM ANALYZE"
psql "$dst" -Atc "SELECT count(*), min(occurred_at), max(occurred_at) FROM archive.events"
