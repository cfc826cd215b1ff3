#!/usr/bin/env bash
# Starts PgBouncer in transaction pooling mode in front of the test server
# (127.0.0.1:5432) and prints the URL the tests take in
# USERMGMT_TEST_PGBOUNCER_URL. Idempotent: a PgBouncer already answering on
# the port is reused. Debian's pgbouncer refuses to run as root, so as root
# it runs as the postgres user.
#
#   scripts/pgbouncer.sh            # start (or reuse) on 6433, print the URL
#   PGBOUNCER_PORT=6434 scripts/pgbouncer.sh
#   scripts/pgbouncer.sh stop
#
# PgBouncer before 1.21 keeps no prepared statements across transactions:
# the URL carries default_query_exec_mode=exec, the pgx setting that works
# through it (see README, "PgBouncer").
set -euo pipefail
export PATH="$PATH:/usr/sbin" # Debian installs pgbouncer there

port="${PGBOUNCER_PORT:-6433}"
upstream_host="${PGBOUNCER_UPSTREAM_HOST:-127.0.0.1}"
upstream_port="${PGBOUNCER_UPSTREAM_PORT:-5432}"
dir="${TMPDIR:-/tmp}/usermgmt-pgbouncer-$port"
url="postgres://postgres@127.0.0.1:$port/test?sslmode=disable&default_query_exec_mode=exec"

as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ ${1:-} == stop ]]; then
  [[ -s $dir/pgbouncer.pid ]] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
  exit 0
fi

if pg_isready -q -h 127.0.0.1 -p "$port"; then
  # Something answers: reuse it only if it is our PgBouncer.
  [[ -s $dir/pgbouncer.pid ]] && kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null ||
    { echo "pgbouncer.sh: port $port is taken by something else" >&2; exit 1; }
  echo "$url"
  exit 0
fi

command -v pgbouncer >/dev/null || { echo "pgbouncer.sh: pgbouncer is not installed (apt-get install pgbouncer)" >&2; exit 1; }
mkdir -p "$dir"
[[ $(id -u) == 0 ]] && chown postgres: "$dir"
# auth_type any: no password; every client logs in upstream as postgres
# (trust on the test server). The suite opens many pools at once (two
# Managers a test, six instances migrating together): clients are cheap,
# server connections are what default_pool_size bounds.
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$upstream_host port=$upstream_port user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
as_owner pgbouncer -d -q "$dir/pgbouncer.ini"
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p "$port" && { echo "$url"; exit 0; }
  sleep 0.1
done
echo "pgbouncer.sh: PgBouncer did not answer on 127.0.0.1:$port; see $dir/pgbouncer.log" >&2
tail -n 20 "$dir/pgbouncer.log" >&2 || true
exit 1
