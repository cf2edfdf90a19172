#!/usr/bin/env bash
# TimescaleDB (Debian sid's postgresql-18-timescaledb, Apache build) in a throwaway
# sid root folder cached outside the clone; the server runs chrooted on 127.0.0.1.
# usage: deploy/timescaledb.sh install|start|stop|wipe|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PGBIN=/usr/lib/postgresql/18/bin
DATA_IN_ROOT=/var/lib/twinrca/tsdb
LOGFILE_IN_ROOT=/var/lib/twinrca/tsdb.log

in_root() { chroot "$SID_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
as_postgres() { in_root su postgres -s /bin/sh -c "$*"; }

install() {
  [[ -f "$SID_ROOT/.twinrca-complete" ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "installing the TimescaleDB root folder needs root (debootstrap, chroot)"
  command -v debootstrap >/dev/null || apt_install_host debootstrap
  local mirror; mirror=$(apt_mirror)
  log "debootstrap sid into $SID_ROOT from $mirror (about a minute)"
  rm -rf "$SID_ROOT"
  debootstrap --variant=minbase sid "$SID_ROOT" "$mirror" >"$TWINRCA_CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$TWINRCA_CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
  # package scripts need /proc; mount it only for the install and always unmount
  mount -t proc proc "$SID_ROOT/proc"
  trap 'umount "$SID_ROOT/proc" 2>/dev/null || true' EXIT
  in_root apt-get -qq -o Acquire::Check-Valid-Until=false update >/dev/null
  log "installing postgresql-18 and postgresql-18-timescaledb in the sid root"
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql-18 postgresql-18-timescaledb >"$TWINRCA_CACHE/sid-apt.log" 2>&1 \
    || { tail -20 "$TWINRCA_CACHE/sid-apt.log" >&2; die "apt-get in the sid root failed"; }
  in_root apt-get clean
  umount "$SID_ROOT/proc"; trap - EXIT
  touch "$SID_ROOT/.twinrca-complete"
}

running() { [[ -f "$SID_ROOT$DATA_IN_ROOT/postmaster.pid" ]] && as_postgres "$PGBIN/pg_ctl -D $DATA_IN_ROOT status" >/dev/null 2>&1; }

start() {
  install
  if running; then log "timescaledb already running on $TSDB_PORT"; return 0; fi
  if [[ ! -f "$SID_ROOT$DATA_IN_ROOT/PG_VERSION" ]]; then
    mkdir -p "$SID_ROOT$DATA_IN_ROOT"
    in_root chown -R postgres:postgres /var/lib/twinrca
    as_postgres "$PGBIN/initdb -D $DATA_IN_ROOT -A trust -U postgres" >/dev/null
  fi
  mkdir -p "$SID_ROOT/var/run/postgresql"; in_root chown postgres:postgres /var/run/postgresql
  log "starting TimescaleDB (PostgreSQL 18) on 127.0.0.1:$TSDB_PORT"
  as_postgres "$PGBIN/pg_ctl -D $DATA_IN_ROOT -l $LOGFILE_IN_ROOT -w -t 60 -o \"-p $TSDB_PORT \
    -c listen_addresses=127.0.0.1 -c shared_preload_libraries=timescaledb \
    -c dynamic_shared_memory_type=mmap -c max_connections=200 -c timescaledb.telemetry_level=off\" start" >/dev/null \
    || { tail -20 "$SID_ROOT$LOGFILE_IN_ROOT" >&2; die "TimescaleDB did not start"; }
  log "timescaledb ready"
}

stop() {
  if running; then as_postgres "$PGBIN/pg_ctl -D $DATA_IN_ROOT -m fast -w stop" >/dev/null; log "timescaledb stopped"; fi
}

wipe() { stop; rm -rf "$SID_ROOT$DATA_IN_ROOT"; }

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  wipe) wipe ;;
  status) if running; then echo "timescaledb running on 127.0.0.1:$TSDB_PORT"; else echo "timescaledb stopped"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|wipe|status" >&2; exit 2 ;;
esac
