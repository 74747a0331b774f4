#!/usr/bin/env bash
# Refresh docs/screenshots/*.png: run the browser tests (tripleplay/web/tests/test_browser.py) with
# their screenshots written there. Needs chromium (installed by scripts/test.sh's set-up).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p docs/screenshots
TRIPLEPLAY_SCREENSHOTS="$PWD/docs/screenshots" TRIPLEPLAY_REQUIRE_BROWSER=1 \
    ./scripts/test.sh -q tripleplay/web/tests/test_browser.py tripleplay/selfcare/tests/test_browser.py "$@"
echo "Screenshots: $(ls docs/screenshots | tr '\n' ' ')"
