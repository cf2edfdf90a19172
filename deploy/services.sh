#!/usr/bin/env bash
# Install (first time, cached in $TWINRCA_CACHE), start, stop all services the tests use.
# usage: deploy/services.sh up|down|status|install|wipe|env [kafka] [timescaledb] [postgres]
# wipe: stop and delete the data (not the installed software); the next up starts empty
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
action="${1:-}"; shift || true
services=("$@"); (( ${#services[@]} )) || services=(kafka timescaledb postgres)
case "$action" in
  up|install)
    verb=start; [[ $action == install ]] && verb=install
    for s in "${services[@]}"; do "$DEPLOY_DIR/$s.sh" "$verb"; done ;;
  down) rc=0; for s in "${services[@]}"; do "$DEPLOY_DIR/$s.sh" stop || rc=1; done; exit $rc ;;
  wipe) for s in "${services[@]}"; do "$DEPLOY_DIR/$s.sh" wipe; done ;;
  status) rc=0; for s in "${services[@]}"; do "$DEPLOY_DIR/$s.sh" status || rc=1; done; exit $rc ;;
  env) cat <<ENV
TWINRCA_TEST_KAFKA=127.0.0.1:$KAFKA_PORT
TWINRCA_TEST_TSDB_URL=postgresql://postgres@127.0.0.1:$TSDB_PORT/postgres
TWINRCA_TEST_PG_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres
ENV
  ;;
  *) echo "usage: $0 up|down|status|install|wipe|env [kafka] [timescaledb] [postgres]" >&2; exit 2 ;;
esac
