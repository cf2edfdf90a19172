#!/usr/bin/env bash
# Plain PostgreSQL (Debian 12's postgresql-15, no TimescaleDB) for the fallback path.
# usage: deploy/postgres.sh install|start|stop|wipe|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PG_MAJOR="${TWINRCA_PG_MAJOR:-15}"
PGBIN="/usr/lib/postgresql/$PG_MAJOR/bin"
PGDATA_DIR="${TWINRCA_PG_DATA:-/var/tmp/twinrca-pg$PG_MAJOR}"

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

install() {
  [[ -x "$PGBIN/pg_ctl" ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "PostgreSQL $PG_MAJOR is missing; install postgresql-$PG_MAJOR (needs root)"
  apt_install_host "postgresql-$PG_MAJOR"
  # Debian's package starts a cluster on 5432; the project uses its own data dir and port.
  command -v pg_ctlcluster >/dev/null && pg_ctlcluster "$PG_MAJOR" main stop 2>/dev/null || true
}

running() { [[ -f "$PGDATA_DIR/postmaster.pid" ]] && as_pg "$PGBIN/pg_ctl -D $PGDATA_DIR status" >/dev/null 2>&1; }

start() {
  install
  if running; then log "postgresql already running on $PG_PORT"; return 0; fi
  if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
    mkdir -p "$PGDATA_DIR"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PGDATA_DIR"
    as_pg "$PGBIN/initdb -D $PGDATA_DIR -A trust -U postgres" >/dev/null
  fi
  log "starting PostgreSQL $PG_MAJOR on 127.0.0.1:$PG_PORT"
  as_pg "$PGBIN/pg_ctl -D $PGDATA_DIR -l $PGDATA_DIR/server.log -w -t 60 -o \"-p $PG_PORT \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGDATA_DIR -c max_connections=200\" start" >/dev/null \
    || { tail -20 "$PGDATA_DIR/server.log" >&2; die "PostgreSQL did not start"; }
  log "postgresql ready"
}

stop() {
  if running; then as_pg "$PGBIN/pg_ctl -D $PGDATA_DIR -m fast -w stop" >/dev/null; log "postgresql stopped"; fi
}

wipe() { stop; rm -rf "$PGDATA_DIR"; }

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  wipe) wipe ;;
  status) if running; then echo "postgresql running on 127.0.0.1:$PG_PORT"; else echo "postgresql stopped"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|wipe|status" >&2; exit 2 ;;
esac
