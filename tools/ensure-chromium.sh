#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through playwright-core; no browser is ever downloaded.
# Run before the tests (npm's pretest): installs the Debian package when it is missing and this user
# may, and otherwise says what to do — the browser test then fails with the same instruction.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is not installed: run 'sudo apt-get install chromium' for the browser tests" >&2
fi
