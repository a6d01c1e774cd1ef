#!/bin/sh
# Debian packages the test suite drives: Chromium + ChromeDriver (agent console in a
# real browser), coturn (a TURN relay for the WebRTC proof), a CJK font for its screenshots, and Prometheus' promtool (alert rules). Installed only when missing
# and only where we may (root with apt-get); otherwise the tests that need them say so.
set -u
need=""
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
command -v promtool >/dev/null 2>&1 || need="$need prometheus"
# Mandarin is the default script language: let the browser screenshots show it.
[ -d /usr/share/fonts/opentype/noto ] || need="$need fonts-noto-cjk"
# A TURN relay: the browser proof degrades a real WebRTC call through it (tests/support/turn.py).
command -v turnserver >/dev/null 2>&1 || need="$need coturn"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages:$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 \
    || echo "could not install$need: the tests that need them will skip (or fail in CI)"
  # The prometheus package starts a server on install where it can; we only want promtool.
  pkill -x prometheus >/dev/null 2>&1 || true
else
  echo "missing$need (not root, or no apt-get): the tests that need them will skip"
fi
exit 0
