#!/usr/bin/env bash
# Scaling check: one repo with N services (compose entry, Dockerfile, entrypoint,
# main.ts each) for growing N; prints the time of `prodsafe fix --diff` per N.
# Time per service should stay flat (nothing quadratic in files or services).
# Usage: bench/scale.sh [N...]   (default: 100 400 1600)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 400 1600)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for n in "${sizes[@]}"; do
  repo="$work/repo-$n"
  python3 - "$repo" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(root, exist_ok=True)
compose = ["services:"]
for i in range(n):
    name = f"svc-{i}"
    d = os.path.join(root, "apps", name, "src")
    os.makedirs(d, exist_ok=True)
    compose += [f"  {name}:", f"    build:", f"      context: .", f"      dockerfile: apps/{name}/Dockerfile",
                f"    ports:", f"      - \"{3000 + i % 5000}:{3000 + i % 5000}\""]
    open(os.path.join(root, "apps", name, "Dockerfile"), "w").write(
        "FROM node:20-alpine AS builder\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n\n"
        "FROM node:20-alpine\nWORKDIR /app\nCOPY --from=builder /app/dist ./dist\n"
        f"COPY apps/{name}/entrypoint.sh ./entrypoint.sh\nUSER node\nENTRYPOINT [\"./entrypoint.sh\"]\n")
    p = os.path.join(root, "apps", name, "entrypoint.sh")
    open(p, "w").write("#!/bin/sh\nset -e\nexec dumb-init node dist/main.js\n")
    os.chmod(p, 0o755)
    open(os.path.join(d, "main.ts"), "w").write(
        "import express from 'express';\n\nconst app = express();\n"
        f"app.listen(process.env.PORT || {3000 + i % 5000});\nconst db = process.env.DATABASE_URL!;\n")
open(os.path.join(root, "docker-compose.yml"), "w").write("\n".join(compose) + "\n")
open(os.path.join(root, ".dockerignore"), "w").write(".git\nnode_modules\n.env\n.env.*\n")
PY
  start=$(date +%s.%N)
  ./target/release/prodsafe fix --diff "$repo" > "$work/out-$n.patch" 2>/dev/null || true
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc -l)
  hunks=$(grep -c '^@@' "$work/out-$n.patch" || true)
  printf '%5d services: %.3f s (%.2f ms/service, %d hunks)\n' "$n" "$secs" "$(echo "$secs * 1000 / $n" | bc -l)" "$hunks"
done
