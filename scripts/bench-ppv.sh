#!/usr/bin/env bash
# bench/ppv.py with what it needs: ./.venv (tripleplay installed) and the Debian packages of its load
# generator (wrk) and of the pgbench baseline (postgresql-contrib). PostgreSQL must be running
# (PGHOST/PGPORT/PGUSER, default postgres@127.0.0.1:5432). Arguments go to bench/ppv.py, e.g.
#   ./scripts/bench-ppv.sh --accounts 1000 --seconds 20 --servers granian:2x8 gunicorn:4x8
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/_venv.sh
source scripts/_venv.sh
# shellcheck source=scripts/_system_deps.sh
source scripts/_system_deps.sh

ensure_venv dev
ensure_debian_packages wrk
command -v pgbench >/dev/null 2>&1 || ensure_debian_packages postgresql-contrib
exec .venv/bin/python bench/ppv.py "$@"
