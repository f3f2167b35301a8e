#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine and starts the Keywright desktop app.
# The store is ~/.local/share/keywright/keywright.db unless KEYWRIGHT_STORE says otherwise;
# private keys go to the OS keychain (GNOME Keyring / KWallet via the Secret Service).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh --run
echo "==> building the UI"
npm --prefix ui run build --silent
echo "==> building and starting Keywright (first build takes a few minutes)"
exec cargo run --release --features custom-protocol --bin keywright-app
