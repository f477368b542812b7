#!/bin/sh
# Creates the secrets deploy/compose/*.yaml read, once, in deploy/compose/secrets/ (git-ignored):
#   clickhouse.env          CLICKHOUSE_USER and CLICKHOUSE_PASSWORD, read by the ClickHouse server
#                           image (it creates that user) and by every procstream service
#   clickhouse-cluster.env  CLICKHOUSE_CLUSTER_SECRET, which the cluster's nodes authenticate each
#                           other's distributed queries with (clickhouse/cluster.xml)
#   admin.key               the bootstrap admin API key (psk_<id>_<secret>), registered by the query
#                           API at start-up and used by the `admin` service
#   nats-service.password   the NATS service user's password (user procstream), read by the server
#                           roles through NATS_PASSWORD_FILE
#   nats.secret             the installation secret every tenant's NATS password is derived from
#                           (npm run nats-credential); never mounted into a container
#   nats-auth.conf          the NATS users and permissions, rendered by `npm run nats-config` (here
#                           with no tenant yet; render it again after adding tenants, deploy/README.md)
# Existing files are kept, so running it again never changes a password a server already uses.
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
root="$(cd "$(dirname "$0")/../.." && pwd)"
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
if [ ! -f "$dir/nats-service.password" ]; then
  printf '%s\n' "$(random 32)" >"$dir/nats-service.password"
  echo "created $dir/nats-service.password"
fi
if [ ! -f "$dir/nats.secret" ]; then
  # Readable by this user only: no container reads it, and it yields every tenant's NATS password.
  (umask 077 && printf '%s\n' "$(random 32)" >"$dir/nats.secret")
  echo "created $dir/nats.secret"
fi
if [ ! -f "$dir/nats-auth.conf" ]; then
  # The same renderer as the all-in-one (platform/nats-auth.ts); it needs Node.js and `npm ci` here.
  if ! (cd "$root" && npx --no-install tsx deploy/nats-config.ts --secrets-dir "$dir" --tenants ''); then
    echo "could not render $dir/nats-auth.conf: run npm ci, then npm run nats-config -- --secrets-dir $dir --tenants ''" >&2
    exit 1
  fi
fi
