#!/usr/bin/env bash
# Installs what a fresh machine lacks to run procstream locally: Debian's nats-server (and Java 17 /
# Maven if missing), Debian's node_exporter (the reference the agent's tests compare against), zstd and
# openssl for tests, the
# npm packages, and the Kafka broker jars from Maven Central (into .cache/).
# Safe to run again: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
[ -x /usr/bin/prometheus-node-exporter ] || missing+=(prometheus-node-exporter)
# Tests only: zstd makes the gateway's zstd bodies, openssl the certificates of the HTTPS tests.
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# Tests only: the real Prometheus the query API is compared with, and Chromium for the dashboard.
[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required, found $(node --version)" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

node --import tsx -e "
  const { ensureKafkaJars } = await import('./deploy/local/kafka-jars.ts');
  await ensureKafkaJars({ log: (l) => console.log('setup: ' + l) });
"
echo "setup: done"
