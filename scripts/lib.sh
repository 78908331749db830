# Shared by scripts/test, scripts/demo and scripts/bench: install Debian packages when
# missing and make the project virtualenv. Never touches the system Dovecot service.

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_debian_packages pkg:probe ...  (probe = a command name or an absolute path)
ensure_debian_packages() {
    local missing=() spec pkg probe
    for spec in "$@"; do
        pkg=${spec%%:*}; probe=${spec#*:}
        if [ "${probe#/}" != "$probe" ]; then [ -e "$probe" ] && continue
        else command -v "$probe" >/dev/null 2>&1 && continue; fi
        missing+=("$pkg")
    done
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}" >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        # policy-rc.d keeps the distribution's Dovecot service from starting
        as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
        as_root systemctl disable --now dovecot >/dev/null 2>&1 || true
    fi
}

# ensure_venv [extra]: .venv with mailcli installed (editable), plus the extra if given.
# The install is editable, so code changes need no reinstall: pip runs only when the
# packaging metadata (pyproject.toml, setup.cfg, setup.py) or the extra changed since the
# last successful install (a stamp file in .venv holds their hash).
ensure_venv() {
    local extra=${1:-} stamp=.venv/.mailcli-install-stamp hash have=""
    [ -x .venv/bin/python ] || python3 -m venv .venv
    hash=$( (for f in pyproject.toml setup.cfg setup.py; do [ ! -f "$f" ] || cat "$f"; done) \
        | sha256sum | cut -d' ' -f1)
    # stamp: "HASH extra..." (the extras installed with that metadata; "" = none needed)
    if [ -f "$stamp" ] && [ -x .venv/bin/mailcli ] && [ "$(cut -d' ' -f1 "$stamp")" = "$hash" ]; then
        have=" $(cut -d' ' -f2- -s "$stamp") "
        if [ -z "$extra" ] || [ "${have#* "$extra" }" != "$have" ]; then
            return 0
        fi
    fi
    rm -f "$stamp"
    if [ -n "$extra" ]; then
        .venv/bin/pip install -q --disable-pip-version-check -e ".[$extra]"
    else
        .venv/bin/pip install -q --disable-pip-version-check -e .
    fi
    printf '%s %s %s\n' "$hash" "$extra" "$have" | tr -s ' ' > "$stamp"
}

# Cyrus IMAP and Courier IMAP/POP3 for the multi-server tests. Their Debian packages
# Conflict with Dovecot's (imap-server/pop3-server), so installing them would remove
# Dovecot: download the .debs instead, extract each into a private root under
# $MAILCLI_SERVER_CACHE, and install only their non-conflicting dependencies.
# The tests run the binaries from those roots (tests/servers/extracted.py).
# Idempotent: a root with its .complete stamp is reused (a fresh clone on the same machine
# costs nothing).
MAILCLI_SERVER_CACHE=${MAILCLI_SERVER_CACHE:-/var/cache/mailcli-test-servers}
export MAILCLI_SERVER_CACHE

ensure_extracted_servers() {
    ensure_debian_packages sasl2-bin:saslpasswd2 db-util:db_recover libclamav12:/usr/lib/x86_64-linux-gnu/libclamav.so.12 \
        libical3:/usr/lib/x86_64-linux-gnu/libical.so.3 libpcre3:/usr/lib/x86_64-linux-gnu/libpcre.so.3 \
        libzephyr4:/usr/lib/x86_64-linux-gnu/libzephyr.so.4 courier-base:couriertcpd \
        courier-authdaemon:authdaemond courier-authlib-userdb:makeuserdb gnutls-bin:gnutls-cli \
        libcourier-unicode4:/usr/lib/x86_64-linux-gnu/libcourier-unicode.so.4 \
        libgamin0:/usr/lib/x86_64-linux-gnu/libgamin-1.so.0
    # courier-authdaemon's own service is not needed (the fixture runs its own authdaemond)
    as_root systemctl disable --now courier-authdaemon >/dev/null 2>&1 || true
    _extract_server cyrus cyrus-imapd cyrus-pop3d cyrus-common cyrus-admin
    _extract_server courier courier-imap courier-pop
}

_extract_server() {
    local name=$1; shift
    local dest="$MAILCLI_SERVER_CACHE/$name" tmp
    [ -e "$dest/.complete" ] && return 0
    echo "extracting $name ($*) into $dest" >&2
    as_root mkdir -p "$MAILCLI_SERVER_CACHE"
    tmp=$(mktemp -d)
    # apt-get download writes into the current directory; _apt must be able to write it
    chmod 755 "$tmp"
    ( cd "$tmp" && as_root apt-get download -qq "$@" >/dev/null 2>&1 ) || {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        ( cd "$tmp" && as_root apt-get download -qq "$@" >/dev/null )
    }
    as_root rm -rf "$dest.new"
    as_root mkdir -p "$dest.new"
    local deb
    for deb in "$tmp"/*.deb; do as_root dpkg-deb -x "$deb" "$dest.new"; done
    as_root touch "$dest.new/.complete"
    as_root rm -rf "$dest"
    as_root mv "$dest.new" "$dest"
    rm -rf "$tmp"
}
