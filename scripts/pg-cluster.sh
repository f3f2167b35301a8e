#!/usr/bin/env bash
# A private, throwaway PostgreSQL cluster for the tests: initdb in a temporary folder,
# listening on a free loopback port only (and a Unix socket inside that folder), run
# as the `postgres` user when this script runs as root (initdb refuses root). TLS is
# on, with a certificate for localhost and 127.0.0.1 from a CA made for this cluster
# alone, so the tests can check sslmode=verify-full against it.
#
#   eval "$(bash scripts/pg-cluster.sh start)"   # exports KEYWRIGHT_TEST_PG (superuser, no
#                                                # password), KEYWRIGHT_TEST_PG_AUTH (a role
#                                                # that must give its password),
#                                                # KEYWRIGHT_TEST_PG_DIR, KEYWRIGHT_TEST_PG_CA
#   bash scripts/pg-cluster.sh stop "$KEYWRIGHT_TEST_PG_DIR"
#
# Nothing of the machine's own PostgreSQL (its clusters, its port 5432) is touched.
set -euo pipefail

bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  # Debian keeps the server binaries out of PATH, one folder per major version.
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then
    echo "$newest"
    return
  fi
  echo "pg-cluster: no PostgreSQL server found; install Debian's postgresql package (scripts/setup-debian.sh does)" >&2
  exit 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
  start)
    bin=$(bindir)
    dir=$(mktemp -d /tmp/keywright-pg.XXXXXX)
    chmod 0755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    port=$(free_port)
    (
      cd "$dir"
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Keywright test CA" \
        -keyout ca.key -out ca.crt 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout server.key -out server.csr 2>/dev/null
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.crt 2>/dev/null
      rm -f ca.key server.csr server.ext ca.srl
      chmod 0600 server.key
      [ "$(id -u)" = 0 ] && chown postgres:postgres server.key server.crt
      true
    )
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
    # Every role but one logs in without a password (trust); keywright_pw must give
    # its password (SCRAM), for the tests of a store whose password lives in the
    # keychain and of a wrong password.
    password=$(openssl rand -hex 16)
    { printf 'host all keywright_pw 127.0.0.1/32 scram-sha-256\n'; cat "$dir/data/pg_hba.conf"; } >"$dir/hba.new"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/hba.new"
    as_owner mv "$dir/hba.new" "$dir/data/pg_hba.conf"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c max_connections=200 -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key" \
      start >/dev/null || {
      cat "$dir/server.log" >&2
      exit 1
    }
    as_owner "$bin/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres \
      -c "CREATE ROLE keywright_pw LOGIN CREATEDB PASSWORD '$password'" >/dev/null
    echo "export KEYWRIGHT_TEST_PG='postgres://postgres@127.0.0.1:$port/postgres'"
    echo "export KEYWRIGHT_TEST_PG_AUTH='postgres://keywright_pw:$password@127.0.0.1:$port/postgres'"
    echo "export KEYWRIGHT_TEST_PG_DIR='$dir'"
    echo "export KEYWRIGHT_TEST_PG_CA='$dir/ca.crt'"
    ;;
  stop)
    dir=${2:?usage: pg-cluster.sh stop DIR}
    case "$dir" in
      /tmp/keywright-pg.*) ;;
      *) echo "pg-cluster: $dir is not a cluster this script started" >&2; exit 2 ;;
    esac
    if [ -d "$dir/data" ]; then
      as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg-cluster.sh start | stop DIR" >&2
    exit 2
    ;;
esac
