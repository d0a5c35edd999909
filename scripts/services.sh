# Functions that install and start what the tests need, on a Debian machine:
# a throwaway PostgreSQL in a temporary directory, Debian's aiosmtpd, and the
# OpenSSL headers that webauthn-rs (the webauthn feature) builds against.
# Sourced by scripts/test and .ci/run.

need_packages() {
    local missing=()
    compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
    /usr/bin/python3 -c 'import aiosmtpd' 2> /dev/null || missing+=(python3-aiosmtpd)
    [ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
    command -v pkg-config > /dev/null || missing+=(pkg-config)
    # The portal's browser tests (tests/e2e.rs).
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "The tests need Debian packages: ${missing[*]}. Install them (as root: apt-get install ${missing[*]}) and run again." >&2
        return 1
    fi
    echo "== installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
}

# Starts PostgreSQL on a free loopback port and exports TWOFACTOR_POSTGRES_URL.
start_postgres() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    PG_DIR=$(mktemp -d /tmp/twofactor-pg.XXXXXX)
    local port
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        # The server refuses to run as root.
        chown postgres: "$PG_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync > "$PG_DIR/initdb.log"
    local opts="-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=300 -c fsync=off -c synchronous_commit=off"
    "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -o "$opts" start > /dev/null
    PG_BIN=$bin
    PG_AS=("${as[@]}")
    export TWOFACTOR_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
    # The fault tests stop this server mid-load, keep it down for the
    # seconds given, and start it again (same options, same port).
    cat > "$PG_DIR/restart" <<SCRIPT
#!/bin/sh
set -e
${as[*]} $bin/pg_ctl -D $PG_DIR/data -m fast -w stop > /dev/null
sleep \${1:-0}
${as[*]} $bin/pg_ctl -D $PG_DIR/data -l $PG_DIR/server.log -w -o "$opts" start > /dev/null
SCRIPT
    chmod +x "$PG_DIR/restart"
    export TWOFACTOR_PG_RESTART="$PG_DIR/restart"
    echo "== PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop_postgres() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop > /dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}
