#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine and runs every check Keywright has:
# UI type check, component tests and build; rustfmt; clippy; the whole cargo test
# suite (format vectors, store on SQLite and on a private PostgreSQL cluster, vault,
# CLI flow on the real Secret Service, the
# end-to-end test of the real window over WebDriver under Xvfb); the verify-only
# build of the format crate; a short fuzz smoke of every parser; and the supply-chain
# checks: actionlint over the workflows, cargo deny, npm audit of the UI's runtime packages;
# and the .deb and .rpm, the .deb installed and its app started (scripts/package-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

bash scripts/setup-debian.sh

echo "==> actionlint (every workflow in .github/workflows, shell steps through shellcheck)"
actionlint -no-color

echo "==> UI: type check, component tests, build"
(cd ui && npm run check && npm test && npm run build)

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --features keywright-app/custom-protocol,keywright-app/e2e -- -D warnings
cargo clippy -p keywright-license --no-default-features --all-targets -- -D warnings

# cargo deny (deny.toml): licenses, bans, sources need only the lock file and the crates'
# manifests; advisories need the RustSec database, a git repository outside the package
# registries. Where it cannot be fetched, the last copy on this machine is used (its date
# is printed); with none, advisories are not checked and the run says so, and it fails
# when KEYWRIGHT_REQUIRE_ADVISORIES=1 (the GitHub CI job sets it; docs/release.md).
echo "==> cargo deny check"
cargo fetch --locked --quiet
advisory_db=""
for d in "${CARGO_HOME:-$HOME/.cargo}"/advisory-dbs/advisory-db-*/; do
  [ -d "$d/.git" ] && advisory_db=$d
done
if timeout 180 cargo deny --log-level error fetch db 2>/dev/null; then
  cargo deny --offline check --hide-inclusion-graph
elif [ -n "$advisory_db" ]; then
  echo "advisory database could not be refreshed; using the copy of $(git -C "$advisory_db" log -1 --format=%cs)"
  [ "${KEYWRIGHT_REQUIRE_ADVISORIES:-0}" != 1 ] || exit 1
  cargo deny --offline check --hide-inclusion-graph
else
  echo "ADVISORIES NOT CHECKED: the RustSec advisory database could not be fetched and there is no earlier copy"
  [ "${KEYWRIGHT_REQUIRE_ADVISORIES:-0}" != 1 ] || exit 1
  cargo deny --offline check --hide-inclusion-graph licenses bans sources
fi

# npm audit of the packages the built UI ships (not the build and test tools), failing on
# high or critical. It asks the registry's audit service, which not every registry
# mirror offers: then it says so, and fails only when KEYWRIGHT_REQUIRE_ADVISORIES=1.
echo "==> npm audit --omit=dev (ui/)"
audit_json=$(cd ui && npm audit --omit=dev --json 2>/dev/null || true)
if printf '%s' "$audit_json" | python3 -c 'import json,sys; sys.exit(0 if "metadata" in json.load(sys.stdin) else 1)' 2>/dev/null; then
  printf '%s' "$audit_json" | python3 -c '
import json, sys
v = json.load(sys.stdin)["metadata"]["vulnerabilities"]
print(", ".join(f"{n} {k}" for k, n in v.items()))
sys.exit(1 if v.get("high", 0) + v.get("critical", 0) else 0)' || {
    (cd ui && npm audit --omit=dev --audit-level=high) || true
    exit 1
  }
else
  echo "NPM AUDIT NOT RUN: the registry's audit service did not answer"
  [ "${KEYWRIGHT_REQUIRE_ADVISORIES:-0}" != 1 ] || exit 1
fi

echo "==> verify-only build of the format crate (the embeddable SDK)"
cargo test -p keywright-license --no-default-features

echo "==> the SDK's machine fingerprint on this OS (feature fingerprint: /etc/machine-id here; the parsers of macOS's ioreg and Windows' reg query)"
cargo test -p keywright-license --features fingerprint --lib fingerprint

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
# The Secret Service is started by D-Bus on first use, from a service file in this
# session's XDG_DATA_HOME (searched before the system's): gnome-keyring with the login
# keyring unlocked. Should the daemon die mid-suite (it was seen to, once, in CI), the
# next call starts it again, unlocked, with every item it had; the system's own
# service file would start it locked, and its unlock prompt on the virtual display
# would wait for nobody until the CI's time ran out.
mkdir -p "$keyring_home/dbus-1/services"
cat > "$keyring_home/start-keyring" <<'SH'
#!/bin/sh
printf %s keywright-test | exec gnome-keyring-daemon --foreground --unlock --components=secrets
SH
chmod +x "$keyring_home/start-keyring"
printf '[D-BUS Service]\nName=org.freedesktop.secrets\nExec=%s\n' "$keyring_home/start-keyring" \
  > "$keyring_home/dbus-1/services/org.freedesktop.secrets.service"
XDG_RUNTIME_DIR="$keyring_home/run" XDG_DATA_HOME="$keyring_home" xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- \
  cargo test --workspace --features keywright-app/custom-protocol,keywright-app/e2e

# The Linux packages of the binaries the suite just tested (scripts/package.sh
# --prebuilt: no compile), then the .deb installed into this machine, checked, its
# installed app started under Xvfb to its first screen and screenshotted
# (target/tmp/package/), and removed.
echo "==> packages: .deb and .rpm, the .deb installed and started"
bash scripts/package.sh --prebuilt
bash scripts/package-test.sh

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
