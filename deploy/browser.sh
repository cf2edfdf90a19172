#!/usr/bin/env bash
# Debian's chromium and chromedriver for the dashboard's browser tests.
# usage: deploy/browser.sh install|path
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
case "${1:-}" in
  install)
    if ! command -v chromium >/dev/null; then
      [[ $(id -u) -eq 0 ]] || die "chromium is missing; apt-get install chromium chromium-driver (needs root)"
      apt_install_host chromium chromium-driver
    fi ;;
  path) command -v chromium ;;
  *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
