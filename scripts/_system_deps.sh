# Sourced by scripts/demo.sh and scripts/test.sh (not run on its own).
# ensure_debian_packages PKG...: install the Debian packages that are missing (as root, or with sudo),
# so that a fresh machine needs nothing by hand. Checks with dpkg-query first: a machine that has them
# makes no network call. Fails with a clear message where apt-get is not available. Packages that ship a
# daemon (nginx, freeradius) must not start it: tripleplay runs its own instances on loopback ports, and a
# daemon left on every interface is exactly what must not happen; a policy-rc.d answering 101 ("action
# forbidden") makes the packages' install scripts skip every start, then it is removed again.
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
    local policy=/usr/sbin/policy-rc.d placed=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# placed by tripleplay scripts/_system_deps.sh during an install\nexit 101\n' |
            "${as_root[@]}" tee "$policy" >/dev/null
        "${as_root[@]}" chmod 755 "$policy"
        placed=1
    fi
    local status=0
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null || status=$?
    [ "$placed" -eq 1 ] && "${as_root[@]}" rm -f "$policy"
    return "$status"
}

# ensure_freeradius: Debian's FreeRADIUS with rlm_rest, rlm_sql's PostgreSQL driver (tripleplay's SQL path
# and bench/radius's stock set-up) and radclient (docs/radius.md). Tripleplay runs
# it as its own process (`freeradius -f -d DIR`, loopback ports chosen at run time), never as the
# system daemon: the package's own service would listen on every interface with the stock config. So
# the install runs with a policy-rc.d that refuses every service start (kept if one exists already),
# and the service is stopped and disabled afterwards wherever an init system started it anyway.
ensure_freeradius() {
    local pkgs=(freeradius freeradius-rest freeradius-postgresql freeradius-utils) missing=() pkg
    for pkg in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    local as_root=() policy=/usr/sbin/policy-rc.d placed=""
    [ "$(id -u)" -eq 0 ] || as_root=(sudo)
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# tripleplay: no service starts while FreeRADIUS is installed\nexit 101\n' \
            | "${as_root[@]}" tee "$policy" >/dev/null
        "${as_root[@]}" chmod 755 "$policy"
        placed=1
    fi
    local status=0
    ensure_debian_packages "${missing[@]}" || status=$?
    [ -n "$placed" ] && "${as_root[@]}" rm -f "$policy"
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        "${as_root[@]}" systemctl disable --now freeradius >/dev/null 2>&1 || true
    fi
    return "$status"
}
