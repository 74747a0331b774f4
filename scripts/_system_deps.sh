# Sourced by scripts/demo.sh and scripts/test.sh (not run on its own).
# ensure_debian_packages PKG...: install the Debian packages that are missing (as root, or with sudo),
# so that a fresh machine needs nothing by hand. Checks with dpkg-query first: a machine that has them
# makes no network call. Fails with a clear message where apt-get is not available.
ensure_debian_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: these system packages are needed: ${missing[*]} (no apt-get here: install them yourself)" >&2
        exit 1
    fi
    local as_root=()
    [ "$(id -u)" -eq 0 ] || as_root=(sudo)
    echo "Installing Debian packages: ${missing[*]} ..."
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}
