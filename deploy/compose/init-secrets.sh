#!/bin/sh
# Creates the secrets deploy/compose/*.yaml read, once, in deploy/compose/secrets/ (git-ignored):
#   clickhouse.env          CLICKHOUSE_USER and CLICKHOUSE_PASSWORD, read by the ClickHouse server
#                           image (it creates that user) and by every procstream service
#   clickhouse-cluster.env  CLICKHOUSE_CLUSTER_SECRET, which the cluster's nodes authenticate each
#                           other's distributed queries with (clickhouse/cluster.xml)
#   admin.key               the bootstrap admin API key (psk_<id>_<secret>), registered by the query
#                           API at start-up and used by the `admin` service
# Existing files are kept, so running it again never changes a password a server already uses.
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
# The folder keeps the secrets from other users on this host. The files themselves are readable by
# all, because Compose bind-mounts a secret file with its host owner and mode, and the containers'
# users (node, uid 1000; clickhouse, uid 101) are not the host user who ran this script.
chmod 0700 "$dir"
umask 022

random() { head -c "$1" /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

if [ ! -f "$dir/clickhouse.env" ]; then
  printf 'CLICKHOUSE_USER=procstream\nCLICKHOUSE_PASSWORD=%s\n' "$(random 24)" >"$dir/clickhouse.env"
  echo "created $dir/clickhouse.env"
fi
if [ ! -f "$dir/clickhouse-cluster.env" ]; then
  printf 'CLICKHOUSE_CLUSTER_SECRET=%s\n' "$(random 24)" >"$dir/clickhouse-cluster.env"
  echo "created $dir/clickhouse-cluster.env"
fi
if [ ! -f "$dir/admin.key" ]; then
  printf 'psk_%s_%s\n' "$(hex 6)" "$(random 32)" >"$dir/admin.key"
  echo "created $dir/admin.key (an admin key: keep it as you would a root password)"
fi
