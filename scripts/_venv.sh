# Sourced by scripts/demo.sh and scripts/test.sh (not run on its own).
# ensure_venv EXTRAS: create ./.venv with Python 3.11 if it is missing, then install tripleplay into it
# in editable mode (`pip install -e .` or `pip install -e ".[EXTRAS]"`). The install is skipped when
# pyproject.toml has not changed since the last one (a stamp file in .venv records it).

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
    local extras="${1:-}" spec="." python stamp wanted done
    [ -n "$extras" ] && spec=".[$extras]"
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
    wanted="$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')"
    if [ -x .venv/bin/tripleplay ]; then
        # An install with extras also satisfies one without.
        for done in "$stamp" .venv/.tripleplay-installed-*; do
            if [ -f "$done" ] && [ "$(cat "$done")" = "$wanted" ] && { [ -z "$extras" ] || [ "$done" = "$stamp" ]; }; then
                return 0
            fi
        done
    fi
    echo "Installing tripleplay ($spec) into .venv ..."
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e "$spec"
    echo "$wanted" > "$stamp"
}
