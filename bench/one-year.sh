#!/usr/bin/env bash
# Builds the one-year archive the large-archive benchmarks read (BENCHMARKS.md):
# the simulator's one-year fleet (1,750 sends a day to a 2,000-instance fleet,
# a year of history, all of it still listed) ingested by the archiver in one
# cycle, exactly as an operator's first run would archive a backlog. The
# same run first times a bare walk of the whole listing against the same
# simulator (bench/barewalk: the archiver's API client, no database), then
# the ingest, and prints both with the ingest's events per second and its
# ratio to the bare walk; then the event log's fingerprint
# (bench/fingerprint.sql), which any two builds of the same archive must
# share.
#
#   bench/one-year.sh TARGET_URL
#
# TARGET_URL is an empty database (the script migrates it). Takes about 15
# minutes on 2 cores; build it once and reuse it. Needs psql.
#
# The simulator's virtual clock stands still (SIM_SPEED, default 1e-12
# virtual seconds per second: nothing ever advances), so the walk and the
# ingest list exactly the same year however long each takes, and every
# build of the archive is the same. The rate limit (ARCHIVER_RATE_LIMIT,
# default 100000 calls a second) is lifted: it protects a real API's quota,
# and here it would measure the limit instead of the archiver.
set -euo pipefail
dst=$1
port=${SIM_PORT:-8199}
speed=${SIM_SPEED:-1e-12}
tmp=$(mktemp -d)
go build -o "$tmp/archiver" ./cmd/archiver
go build -o "$tmp/barewalk" ./bench/barewalk
"$tmp/archiver" sim --listen 127.0.0.1:"$port" --sends-per-day 1750 --fleet 2000 --history 8760h --retention 8760h \
  --speed "$speed" >"$tmp/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.2
done
DATABASE_URL=$dst "$tmp/archiver" migrate
export ALIBABA_CLOUD_ACCESS_KEY_ID=sim-access-key-id ALIBABA_CLOUD_ACCESS_KEY_SECRET=sim-access-key-secret

now() { date +%s.%N; }
read -r _ pages _ records _ walk < <("$tmp/barewalk" --endpoint http://127.0.0.1:"$port" --region cn-hangzhou)
echo "bare walk: $pages pages, $records records in ${walk}s"

t0=$(now)
ARCHIVER_RATE_LIMIT=${ARCHIVER_RATE_LIMIT:-100000} DATABASE_URL=$dst \
  "$tmp/archiver" ingest --once --regions cn-hangzhou --endpoint http://127.0.0.1:"$port" | tee "$tmp/ingest.out"
t1=$(now)
events=$(awk 'NR == 2 { print $5 }' "$tmp/ingest.out")
awk -v e="$events" -v w="$walk" -v t0="$t0" -v t1="$t1" 'BEGIN { s = t1 - t0
  printf "ingest: %d events in %.1fs: %.0f events/s; x-walk %.2f (bare walk %.1fs)\n", e, s, e / s, s / w, w }'

echo "fingerprint (sends|events|md5):"
psql -X -q -A -t -f bench/fingerprint.sql "$dst"
