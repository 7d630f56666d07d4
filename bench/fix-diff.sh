#!/usr/bin/env bash
# Benchmark: `prodsafe fix --diff --patch-dir` over N generated repos (default 200),
# each a copy of fixtures/nomadnet with its service names varied. Prints repos/second.
# Usage: bench/fix-diff.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200}"
runs="${2:-3}"
cargo build --release --quiet
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$n"); do
  repo="$work/repos/repo-$i"
  mkdir -p "$repo"
  cp -R fixtures/nomadnet/. "$repo/"
  # Vary the repos a little so no two are byte-identical.
  sed -i "s/nomadnet/fleet$i/g" "$repo/docker-compose.production.yml"
  echo "$repo" >> "$work/list"
done
best=""
for r in $(seq 1 "$runs"); do
  rm -rf "$work/out"
  start=$(date +%s.%N)
  ./target/release/prodsafe fix --diff --patch-dir "$work/out" --repos-from "$work/list" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc -l)
  rate=$(echo "$n / $secs" | bc -l)
  printf 'run %d: %d repos in %.2f s = %.0f repos/s\n' "$r" "$n" "$secs" "$rate"
  if [ -z "$best" ] || [ "$(echo "$rate > $best" | bc -l)" = 1 ]; then best="$rate"; fi
done
patches=$(find "$work/out" -name '*.patch' | wc -l)
printf 'best: %.0f repos/s (%d patches; %s cores, %s)\n' "$best" "$patches" "$(nproc)" "$(uname -m)"
