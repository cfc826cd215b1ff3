#!/usr/bin/env bash
# failover-cluster.sh: a PostgreSQL primary and a streaming standby with
# synchronous replication on spare ports, for the failover test
# (internal/failover) and for trying a failover by hand.
#
#   scripts/failover-cluster.sh up       # (re)create both, wait until the standby is synchronous
#   scripts/failover-cluster.sh crash    # stop the primary hard (-m immediate), like a power cut
#   scripts/failover-cluster.sh promote  # make the standby the primary
#   scripts/failover-cluster.sh down     # drop both clusters; safe to run at any time
#
# Debian's postgresql-common (pg_createcluster, pg_ctlcluster) as root; the
# servers run as postgres. Clusters um_primary (port 5433) and um_standby
# (port 5434) of PostgreSQL 15, trust authentication on 127.0.0.1 only.
# Nothing else is touched: the main cluster on 5432 keeps running as it is.
#
# Synchronous: synchronous_standby_names names the standby and
# synchronous_commit is on, so a COMMIT returns only once the standby has
# the commit on disk. A commit the application saw succeed survives the
# loss of the primary.
#
# The application connects to both with a multi-host URL and lets the
# driver find the one that takes writes:
#   postgres://postgres@127.0.0.1:5433,127.0.0.1:5434/postgres?sslmode=disable&target_session_attrs=read-write&connect_timeout=2
set -euo pipefail

version=15
primary=um_primary
standby=um_standby
primary_port=5433
standby_port=5434

ctl() { pg_ctlcluster --skip-systemctl-redirect "$version" "$@"; }
as_postgres() { runuser -u postgres -- "$@"; }
psql_at() { as_postgres psql -X -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -tA -c "$2"; }
exists() { [[ -d /etc/postgresql/$version/$1 ]]; }

# wait_for DESCRIPTION COMMAND...: retries COMMAND for up to a minute.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 300); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "failover-cluster: timed out waiting for $what" >&2
  exit 1
}

# settings CLUSTER: the settings both servers share, then those on stdin,
# in the cluster's conf.d (Debian's postgresql.conf includes it). Small
# and quick: these clusters hold a test's data, not the bench's.
settings() {
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "shared_buffers = 32MB"
    echo "max_connections = 50"
    cat
  } >"/etc/postgresql/$version/$1/conf.d/failover.conf"
}

down() {
  for c in $standby $primary; do
    if exists "$c"; then
      pg_dropcluster --stop "$version" "$c" || true # a half-made cluster: the rm below finishes it
      rm -rf "/etc/postgresql/$version/$c" "/var/lib/postgresql/$version/$c" # what it leaves: our conf.d file
    fi
  done
}

up() {
  for p in "$primary_port" "$standby_port"; do
    if ! exists $primary && ! exists $standby && pg_isready -q -h 127.0.0.1 -p "$p"; then
      echo "failover-cluster: something already listens on port $p" >&2
      exit 1
    fi
  done
  down
  pg_createcluster --quiet --start-conf=manual -p "$primary_port" "$version" $primary -- --auth=trust >/dev/null
  settings $primary <<EOF
synchronous_standby_names = '$standby'
synchronous_commit = on
EOF
  ctl $primary start
  wait_for "the primary" pg_isready -q -h 127.0.0.1 -p "$primary_port"

  # The standby: a cluster made by a base backup of the primary; -R writes
  # standby.signal and primary_conninfo, whose application_name is the name
  # synchronous_standby_names waits for.
  pg_createcluster --quiet --start-conf=manual -p "$standby_port" "$version" $standby -- --auth=trust >/dev/null
  settings $standby </dev/null
  local data=/var/lib/postgresql/$version/$standby
  find "$data" -mindepth 1 -delete # pg_basebackup fills an empty directory
  as_postgres pg_basebackup -R -X stream -c fast -D "$data" \
    -d "host=127.0.0.1 port=$primary_port user=postgres application_name=$standby"
  ctl $standby start
  wait_for "the standby to stream synchronously" standby_is_sync
  echo "failover-cluster: primary on $primary_port, synchronous standby on $standby_port"
}

crash() { ctl $primary stop -m immediate; }

promote() {
  ctl $standby promote
  wait_for "the standby to take writes" standby_is_primary
}

standby_is_sync() {
  [[ $(psql_at "$primary_port" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$standby'") == sync ]]
}

standby_is_primary() { [[ $(psql_at "$standby_port" "SELECT pg_is_in_recovery()") == f ]]; }

case ${1:-} in
up | down | crash | promote) "$1" ;;
*)
  echo "usage: $0 up|crash|promote|down" >&2
  exit 2
  ;;
esac
