#!/bin/sh
# The image's entry point: the first argument names the role, the rest are passed to it. Settings
# come from the environment (deploy/CONFIGURATION.md); nothing secret is read here but the admin
# key file, and only for the admin CLI.
set -eu
cd /app

usage() {
  cat <<'EOF'
usage: procstream ROLE [ARGS…]

roles:
  agent       the host agent (bundled; --help lists its flags)
  ingest      the ingest gateway (INGEST_HOST:INGEST_PORT, default 127.0.0.1:8081)
  processor   one stream processor, a member of PROCESSOR_GROUP_ID
  query-api   the dashboard, Prometheus, SQL and admin API (HOST:PORT, default 127.0.0.1:8080)
  admin       the tenant and key CLI against PROCSTREAM_URL (tenant …, key …, --help)

ingest, processor and query-api need CLICKHOUSE_URL: this image has no embedded ClickHouse.
EOF
}

# The image leaves chdb out (Dockerfile, server-deps). Without CLICKHOUSE_URL the processor would try
# to load it deep into start-up; say what is wrong before that.
need_clickhouse_url() {
  if [ -z "${CLICKHOUSE_URL:-}" ] && [ ! -d node_modules/chdb ]; then
    echo "procstream $1: CLICKHOUSE_URL is required (this image has no embedded ClickHouse)" >&2
    exit 2
  fi
}

role="${1:-help}"
if [ "$#" -gt 0 ]; then shift; fi
case "$role" in
  agent)
    # Flags and environment as agent/build.ts's AGENT_NODE_FLAGS and AGENT_ENV (a test keeps them equal).
    export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" UV_THREADPOOL_SIZE="${UV_THREADPOOL_SIZE:-1}"
    exec node --max-semi-space-size=1 --single-threaded-gc --v8-pool-size=1 dist/agent/agent.mjs "$@"
    ;;
  ingest)
    need_clickhouse_url ingest
    exec node --import tsx ingest/src/main.ts "$@"
    ;;
  processor)
    need_clickhouse_url processor
    exec node --import tsx stream-processors/src/main.ts "$@"
    ;;
  query-api)
    need_clickhouse_url query-api
    exec node --import tsx query-api/src/main.ts "$@"
    ;;
  admin)
    # The CLI takes its key from PROCSTREAM_ADMIN_KEY or --key (which would show in ps). A mounted
    # secret is the safer hand-over, and the same file the query API registers at start-up.
    if [ -z "${PROCSTREAM_ADMIN_KEY:-}" ] && [ -n "${PROCSTREAM_ADMIN_KEY_FILE:-}" ]; then
      PROCSTREAM_ADMIN_KEY="$(cat "$PROCSTREAM_ADMIN_KEY_FILE")"
      export PROCSTREAM_ADMIN_KEY
    fi
    exec node --import tsx admin/cli.ts "$@"
    ;;
  help | --help | -h)
    usage
    ;;
  *)
    echo "procstream: unknown role '$role'" >&2
    usage >&2
    exit 64
    ;;
esac
