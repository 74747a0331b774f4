#!/usr/bin/env bash
# Install tripleplay with its dev tools into ./.venv (first run only), then lint and run the whole
# test suite. The database is whatever DATABASE_URL says (unset: SQLite in a temporary directory), e.g.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/tripleplay ./scripts/test.sh
# Arguments go to pytest: ./scripts/test.sh -k ledger -x
# `./scripts/test.sh --install-only` installs (Debian packages, .venv) and stops: .ci/run does that once
# before it runs its two passes side by side.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh
# shellcheck source=scripts/_system_deps.sh
source scripts/_system_deps.sh
# Pango (and its FreeType back end) for WeasyPrint, which renders invoice PDFs.
ensure_debian_packages libpango-1.0-0 libpangoft2-1.0-0
# Chromium for the web interface's browser tests (Playwright drives it; never `playwright install`).
ensure_debian_packages chromium
# nginx and systemd-analyze check the deployment kit (deploy/: `nginx -t`, `systemd-analyze verify`);
# the install starts no daemon (scripts/_system_deps.sh).
ensure_debian_packages nginx-light systemd
# FreeRADIUS (rlm_rest, radclient) for internet access; installed without starting its daemon.
ensure_freeradius
# Kamailio (with http_client and json) for the softswitch example's end-to-end test
# (tripleplay/sessions/tests/test_kamailio.py runs deploy/kamailio/tripleplay-voice.cfg on a free port).
ensure_debian_packages kamailio kamailio-utils-modules kamailio-json-modules

ensure_venv dev
if [ "${1:-}" = "--install-only" ]; then
    echo "Installed; --install-only: no tests run"
    exit 0
fi
# A throw-away TRIPLEPLAY_HOME (the SQLite test database lives there) unless one is given: runs never
# clash with each other or with the demo's ./var.
if [ -z "${TRIPLEPLAY_HOME:-}" ]; then
    TRIPLEPLAY_HOME="$(mktemp -d "${TMPDIR:-/tmp}/tripleplay-test.XXXXXX")"
    trap 'rm -rf "$TRIPLEPLAY_HOME"' EXIT
fi
export TRIPLEPLAY_HOME
if [ -n "${DATABASE_URL:-}" ]; then
    echo "Database: ${DATABASE_URL%%://*}://... (DATABASE_URL)"
else
    echo "Database: SQLite under $TRIPLEPLAY_HOME"
fi

echo "== ruff check"
.venv/bin/ruff check .

# Layers import downward only (contracts in pyproject.toml, [tool.importlinter]).
echo "== lint-imports"
.venv/bin/lint-imports

echo "== pytest"
status=0
# --durations: the ten slowest tests, so the next engineer sees where CI's minutes go.
.venv/bin/pytest -q --durations=10 "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
