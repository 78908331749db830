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
