#!/usr/bin/env bash
# Install tripleplay into ./.venv (first run only) and start the demo on http://127.0.0.1:8000/.
# Arguments go to `tripleplay demo`: e.g. ./scripts/demo.sh --port 8765, or --no-serve.
# Data lives in $TRIPLEPLAY_HOME (default ./var); delete that directory to start over.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh
# shellcheck source=scripts/_system_deps.sh
source scripts/_system_deps.sh
# Pango (and its FreeType back end) for WeasyPrint, which renders invoice PDFs.
ensure_debian_packages libpango-1.0-0 libpangoft2-1.0-0
# FreeRADIUS (rlm_rest, radclient) for internet access; installed without starting its daemon.
ensure_freeradius

ensure_venv
export TRIPLEPLAY_HOME="${TRIPLEPLAY_HOME:-./var}"
exec .venv/bin/tripleplay demo "$@"
