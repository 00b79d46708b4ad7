#!/usr/bin/env bash
# Three relay nodes on one machine, for trying the scale-out setup (docs/scale-out.md):
# PostgreSQL and NATS must be running; every node gets the same secret.
set -euo pipefail
: "${OMS_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/oms}"
: "${OMS_RELAY_BUS:=nats://127.0.0.1:4222}"
: "${OMS_RELAY_SECRET:?set OMS_RELAY_SECRET to the same secret of at least 32 bytes for every node}"
export OMS_DATABASE_URL OMS_RELAY_BUS OMS_RELAY_SECRET
for i in 0 1 2; do
  name="node-$(printf "\\x$(printf %x $((97 + i)))")"
  npx oms-relay serve --port $((3031 + i)) --node-id "$name" --data "./data-$name" &
done
wait
