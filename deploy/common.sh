# Shared settings for the deploy scripts. Source it; do not run it.
# Everything downloaded or created lives outside the clone, in $TWINRCA_CACHE.
set -euo pipefail
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TWINRCA_CACHE="${TWINRCA_CACHE:-$HOME/.cache/twinrca}"
TWINRCA_RUN="${TWINRCA_RUN:-$TWINRCA_CACHE/run}"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${TWINRCA_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${TWINRCA_KAFKA_CONTROLLER_PORT:-19093}"
TSDB_PORT="${TWINRCA_TSDB_PORT:-15433}"
PG_PORT="${TWINRCA_PG_PORT:-15434}"
SID_ROOT="${TWINRCA_SID_ROOT:-$TWINRCA_CACHE/sid-root}"
mkdir -p "$TWINRCA_CACHE" "$TWINRCA_RUN"

log() { printf '[deploy] %s\n' "$*" >&2; }
die() { printf '[deploy] ERROR: %s\n' "$*" >&2; exit 1; }

# wait_for CMD... : retry a readiness probe for up to $WAIT_SECONDS (default 60)
wait_for() {
  local deadline=$((SECONDS + ${WAIT_SECONDS:-60}))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then return 1; fi
    sleep 0.5
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

apt_mirror() {
  # The URI that the machine's own apt sources use (deb822 or one-line format).
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 | awk '{print $2}') || true
  if [[ -z "${uri:-}" ]]; then
    uri=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | head -1 | awk '{print $2}') || true
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

apt_install_host() {
  # apt_install_host PKG... : install Debian packages on the host when missing.
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  (( ${#missing[@]} == 0 )) && return 0
  log "installing host packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
