# Sourced by scripts/demo.sh and scripts/test.sh (not run on its own).
# ensure_venv EXTRAS: create ./.venv with Python 3.11 if it is missing, then install into it exactly what
# the lock file lists (requirements/main.lock, or requirements/dev.lock for the dev extra: every package
# pinned, with hashes, `pip install --require-hashes`), and tripleplay itself in editable mode without
# resolving anything again (`--no-deps --no-build-isolation`: its build tools come from the lock too).
# The install is skipped when neither pyproject.toml nor the lock file changed since the last one (a
# stamp file in .venv records them). scripts/lock.sh regenerates the lock files.

find_python311() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {
    local extras="${1:-}" lock=requirements/main.lock python stamp wanted done
    [ -n "$extras" ] && lock="requirements/$extras.lock"
    if [ ! -f "$lock" ]; then
        echo "error: $lock is missing (scripts/lock.sh writes it)" >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        if ! python="$(find_python311)"; then
            echo "error: Python 3.11 is required: install python3.11 and python3.11-venv (or set PYTHON=/path/to/python3.11)" >&2
            exit 1
        fi
        echo "Creating .venv with $python ($("$python" --version 2>&1))"
        if ! "$python" -m venv .venv; then
            rm -rf .venv
            echo "error: could not create a virtual environment: install the venv module (Debian/Ubuntu: python3.11-venv)" >&2
            exit 1
        fi
    fi
    if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        echo "error: .venv uses $(.venv/bin/python --version 2>&1), tripleplay needs Python 3.11: remove .venv and run again" >&2
        exit 1
    fi
    stamp=".venv/.tripleplay-installed${extras:+-$extras}"
    wanted="$(.venv/bin/python -c 'import hashlib; import sys; print(hashlib.sha256(b"".join(open(f, "rb").read() for f in sys.argv[1:])).hexdigest())' pyproject.toml "$lock")"
    if [ -x .venv/bin/tripleplay ]; then
        # An install with extras also satisfies one without.
        for done in "$stamp" .venv/.tripleplay-installed-*; do
            if [ -f "$done" ] && [ "$(cat "$done")" = "$wanted" ] && { [ -z "$extras" ] || [ "$done" = "$stamp" ]; }; then
                return 0
            fi
        done
    fi
    echo "Installing tripleplay and $lock into .venv ..."
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    .venv/bin/python -m pip install --quiet --require-hashes --no-deps -r "$lock"
    .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
    echo "$wanted" > "$stamp"
}
