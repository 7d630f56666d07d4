#!/usr/bin/env bash
# Speed benchmark (issue 16): prodsafe against the floor of just reading the files.
#
# Generates a corpus of N copies (default 50) of the bundled fixture repo
# (fixtures/nomadnet, ~57 files), then, RUNS times each (default 7, interleaved):
#   read   `find CORPUS -type f -print0 | xargs -0 cat >/dev/null`
#   check  `prodsafe check --format json CORPUS/*`   (one root per repo)
#   fix    `prodsafe fix --diff CORPUS/*`
# and prints the median wall time of each, the ratios to the read floor, and
# the peak RSS of prodsafe (GNU time's %M). A benchmark, not a test: rerun it
# on a quiet machine. Usage: bench/speed.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-50}"
runs="${2:-7}"
cargo build --release --quiet
bin="$PWD/target/release/prodsafe"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
corpus="$work/corpus"
for i in $(seq 1 "$n"); do
  mkdir -p "$corpus/repo-$i"
  cp -R fixtures/nomadnet/. "$corpus/repo-$i/"
done
files=$(find "$corpus" -type f | wc -l)
bytes=$(find "$corpus" -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
roots=("$corpus"/repo-*)

now() { date +%s%N; }
# Milliseconds of one run of "$@", output discarded.
time_ms() {
  local s e
  s=$(now)
  "$@" >/dev/null 2>&1 || true
  e=$(now)
  echo $(( (e - s) / 1000 ))
}
read_floor() { find "$corpus" -type f -print0 | xargs -0 cat >/dev/null; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }

: >"$work/read"; : >"$work/check"; : >"$work/fix"
# Warm the page cache and the binary once.
read_floor; "$bin" check "${roots[@]}" >/dev/null 2>&1 || true
for _ in $(seq 1 "$runs"); do
  time_ms read_floor >>"$work/read"
  time_ms "$bin" check --format json "${roots[@]}" >>"$work/check"
  time_ms "$bin" fix --diff "${roots[@]}" >>"$work/fix"
done
r=$(median <"$work/read"); c=$(median <"$work/check"); f=$(median <"$work/fix")
rss() { { /usr/bin/time -f %M "$@" 2>&1 >/dev/null || true; } | tail -1; }
rss_check=$(rss "$bin" check --format json "${roots[@]}")
rss_fix=$(rss "$bin" fix --diff "${roots[@]}")
printf 'corpus: %d repos, %d files, %.1f MiB; %d runs each; %s cores\n' "$n" "$files" "$(echo "$bytes/1048576" | bc -l)" "$runs" "$(nproc)"
printf 'read floor     %7.1f ms\n' "$r"
printf 'check          %7.1f ms  %5.2fx  peak RSS %5.1f MiB\n' "$c" "$(echo "$c/$r" | bc -l)" "$(echo "$rss_check/1024" | bc -l)"
printf 'fix --diff     %7.1f ms  %5.2fx  peak RSS %5.1f MiB\n' "$f" "$(echo "$f/$r" | bc -l)" "$(echo "$rss_fix/1024" | bc -l)"
