#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine and runs every check Keywright has:
# UI type check, component tests and build; rustfmt; clippy; the whole cargo test
# suite (format vectors, store on SQLite and on a private PostgreSQL cluster, vault,
# CLI flow on the real Secret Service, the
# end-to-end test of the real window over WebDriver under Xvfb); the verify-only
# build of the format crate; a short fuzz smoke of every parser.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

bash scripts/setup-debian.sh

echo "==> UI: type check, component tests, build"
(cd ui && npm run check && npm test && npm run build)

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --features keywright-app/custom-protocol,keywright-app/e2e -- -D warnings
cargo clippy -p keywright-license --no-default-features --all-targets -- -D warnings

echo "==> verify-only build of the format crate (the embeddable SDK)"
cargo test -p keywright-license --no-default-features

echo "==> the verify-only SDK links no getrandom (it signs nothing, so it needs no randomness)"
if cargo tree -p keywright-license --no-default-features -e normal --prefix none | grep -q '^getrandom '; then
  echo "keywright-license --no-default-features links getrandom" >&2
  exit 1
fi

# One cargo invocation for everything else, inside a private D-Bus session with an
# unlocked gnome-keyring (the real Secret Service) and a virtual display.
echo "==> cargo test (workspace, real keychain, end-to-end under Xvfb)"
keyring_home=$(mktemp -d)
# A private PostgreSQL cluster on a free loopback port, for the store's PostgreSQL
# tests; stopped and removed at the end, whatever happens.
eval "$(bash scripts/pg-cluster.sh start)"
export KEYWRIGHT_TEST_PG KEYWRIGHT_TEST_PG_AUTH KEYWRIGHT_TEST_PG_CA
trap 'rm -rf "$keyring_home"; bash scripts/pg-cluster.sh stop "$KEYWRIGHT_TEST_PG_DIR"' EXIT
# Its own XDG_RUNTIME_DIR too: gnome-keyring's control socket lives there, and a
# second keyring daemon started on the same machine (another test run, a developer's
# shell) would otherwise take this one's socket over and leave the suite waiting on a
# locked keyring's prompt.
mkdir -m 700 "$keyring_home/run"
XDG_RUNTIME_DIR="$keyring_home/run" XDG_DATA_HOME="$keyring_home" xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- bash -c '
    echo -n keywright-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    cargo test --workspace --features keywright-app/custom-protocol,keywright-app/e2e
  '

# The core's test suite again with every store on PostgreSQL (the shared test setup
# opens a database of the private cluster per store path): one set of tests, two
# engines.
echo "==> cargo test -p keywright-core on PostgreSQL"
KEYWRIGHT_TEST_ENGINE=postgres cargo test -p keywright-core --tests

echo "==> benchmark smoke (each bench binary once, small)"
cargo test -p keywright-core --bench license_list
cargo test -p keywright-core --bench batch
cargo test -p keywright-core --bench large_store
cargo test -p keywright-license --bench formats
cargo test -p keywright-server --bench load

echo "==> fuzz smoke (every parser, seeded with Keygen's files)"
bash scripts/fuzz-smoke.sh 15
