#!/bin/sh
# Shared by the fleet examples: reads a repository list (owner/name or an
# https URL a line; blank lines and # comments skipped; duplicates dropped),
# refuses anything else, clones the repositories of shard K of N into
# WORK/OWNER/NAME, and writes WORK/list.txt: the WHOLE list as local paths,
# in order, for `prodsafe fix --repos-from WORK/list.txt --shard K/N`.
# K is 1..N, or 0..N-1 (0 is read as N), exactly like prodsafe's --shard,
# so this shard clones precisely the repositories prodsafe will process.
#
#   usage: select-shard.sh LIST K N WORK
set -eu
list=$1 k=$2 n=$3 work=$4
case "$k/$n" in
  *[!0-9/]* | /* | */ ) echo "select-shard: K/N must be numbers (got $k/$n)" >&2; exit 2 ;;
esac
if [ "$n" -lt 1 ] || [ "$k" -gt "$n" ]; then
  echo "select-shard: K must be between 0 and N (got $k/$n)" >&2; exit 2
fi
[ "$k" -eq 0 ] && k=$n
mkdir -p "$work"
: > "$work/list.txt"
seen=""
i=0
# Trim, drop comments and blank lines, keep the first of duplicates.
sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d' "$list" > "$work/entries.txt"
while IFS= read -r entry; do
  case " $seen " in *" $entry "*) continue ;; esac
  seen="$seen $entry"
  repo=${entry#https://github.com/}
  repo=${repo%.git}
  # owner/name only: letters, digits, . _ -; nothing that starts with - or
  # is . or .. (no options, no path traversal).
  if ! printf '%s\n' "$repo" | grep -Eq '^[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_.][A-Za-z0-9_.-]*$' \
    || [ "${repo#*/}" = . ] || [ "${repo#*/}" = .. ]; then
    echo "select-shard: $list: not owner/name: $entry" >&2
    exit 2
  fi
  printf '%s\n' "$work/$repo" >> "$work/list.txt"
  if [ $((i % n)) -eq $((k - 1)) ]; then
    git clone --quiet --depth 1 -- "https://github.com/$repo.git" "$work/$repo"
  fi
  i=$((i + 1))
done < "$work/entries.txt"
rm -f "$work/entries.txt"
