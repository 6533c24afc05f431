#!/usr/bin/env bash
# Real-browser check of a report bundle: installs Debian's Chromium if it is absent and the
# pinned playwright-core (package-lock.json), then opens BUNDLE/index.html headless and fails
# on console errors, failed or outside requests, images that did not load or broken links.
#
# Usage: scripts/browser-check/run.sh BUNDLE_DIR [SCREENSHOT.png]
# The screenshot defaults to BUNDLE_DIR/../<bundle name>.screenshot.png (outside the bundle,
# so its manifest stays true).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bundle="${1:?usage: run.sh BUNDLE_DIR [SCREENSHOT.png]}"
bundle="$(cd "$bundle" && pwd)"
screenshot="${2:-$(dirname "$bundle")/$(basename "$bundle").screenshot.png}"

if [ -z "${CHROMIUM:-}" ] && ! [ -x /usr/bin/chromium ]; then
  echo "browser check: installing Debian's chromium" >&2
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
if ! [ -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
node "$here/check.mjs" "$bundle/index.html" "$screenshot"
