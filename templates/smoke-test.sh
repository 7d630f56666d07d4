# prodsafe template: smoke test of a freshly built image (GHA001).
# Runs as the `run:` script of a GitHub Actions step whose `env:` sets IMAGE.
# Placeholders (each on its own line, removed when empty): {{notes}} {{env_flags}}.
# IMAGE may list several tags (one per line or comma-separated): the first is started.
# SMOKE_INTERVAL (seconds between checks, default 2) and SMOKE_CHECKS (default 30) bound the wait.
set -eu
{{notes}}
IMAGE=$(printf '%s\n' "$IMAGE" | tr ',' '\n' | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' | head -n 1)
name="smoke-${GITHUB_RUN_ID:-local}-${GITHUB_JOB:-job}-$$"
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() {
  echo "::error::smoke test of $IMAGE failed: $1"
  docker logs "$name" 2>&1 || true
  exit 1
}
docker run -d --name "$name" \
{{env_flags}}
  "$IMAGE" >/dev/null
checks="${SMOKE_CHECKS:-30}"
i=0
ready=""
while [ "$i" -lt "$checks" ]; do
  i=$((i + 1))
  sleep "${SMOKE_INTERVAL:-2}"
  status=$(docker inspect -f '{{.State.Status}}' "$name")
  [ "$status" = "running" ] || fail "the container is $status"
  health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name")
  if [ "$health" = "unhealthy" ]; then fail "the container is unhealthy"; fi
  if [ "$health" = "healthy" ] || { [ -z "$health" ] && [ "$i" -ge 5 ]; }; then
    ready=1
    break
  fi
done
[ -n "$ready" ] || fail "not ready after $checks checks"
if docker logs "$name" 2>&1 | grep -Eqi 'pnpm: not found|yarn: not found|command not found|cannot find module|\[FATAL\]'; then
  fail "runtime errors in the logs"
fi
echo "smoke test of $IMAGE passed"
