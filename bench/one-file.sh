#!/usr/bin/env bash
# Fixes per file: one compose file with N services, each getting a
# healthcheck (CMP001), timed with `prodsafe fix --diff`. Planning,
# verification and the diff must stay linear in the number of fixes in one
# file (issue 14, item 16). Usage: bench/one-file.sh [N...] (default:
# 10000 20000 40000).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 20000 40000)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for n in "${sizes[@]}"; do
  repo="$work/repo-$n"
  python3 - "$repo" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(root, exist_ok=True)
lines = ["services:"]
for i in range(n):
    lines += [f"  svc-{i}:", "    image: node:20-alpine", "    ports:", f"      - \"{3000 + i % 5000}:3000\""]
open(os.path.join(root, "docker-compose.yml"), "w").write("\n".join(lines) + "\n")
PY
  /usr/bin/time -f "%e %U" -o "$work/t" ./target/release/prodsafe fix --diff "$repo" > "$work/out.patch" 2>/dev/null || true
  read -r wall user < "$work/t"
  added=$(grep -c '^+ *healthcheck:' "$work/out.patch" || true)
  printf '%6d services: %6.2f s wall, %6.2f s user (%.1f us/fix user, %d healthchecks)\n' \
    "$n" "$wall" "$user" "$(echo "$user * 1000000 / $n" | bc -l)" "$added"
done
