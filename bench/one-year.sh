#!/usr/bin/env bash
# Builds the one-year archive the large-archive benchmarks read (BENCHMARKS.md):
# the simulator's one-year fleet (1,750 sends a day to a 2,000-instance fleet,
# a year of history, all of it still listed) ingested by the archiver in one
# cycle, exactly as an operator's first run would archive a backlog.
#
#   bench/one-year.sh TARGET_URL
#
# TARGET_URL is an empty database (the script migrates it). Takes about 25
# minutes on 2 cores; build it once and reuse it.
set -euo pipefail
dst=$1
port=${SIM_PORT:-8199}
bin=$(mktemp -d)/archiver
go build -o "$bin" ./cmd/archiver
"$bin" sim --listen 127.0.0.1:"$port" --sends-per-day 1750 --fleet 2000 --history 8760h --retention 8760h &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.2
done
DATABASE_URL=$dst "$bin" migrate
ALIBABA_CLOUD_ACCESS_KEY_ID=sim-access-key-id ALIBABA_CLOUD_ACCESS_KEY_SECRET=sim-access-key-secret \
  DATABASE_URL=$dst "$bin" ingest --once --regions cn-hangzhou --endpoint http://127.0.0.1:"$port"
