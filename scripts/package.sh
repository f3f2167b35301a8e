#!/usr/bin/env bash
# Builds Keywright's Linux packages, a .deb and an .rpm, with Tauri's bundler (the Tauri
# CLI from ui/'s devDependencies: a prebuilt binary, nothing to compile). Each package
# holds the app (/usr/bin/keywright-app, with its desktop entry and icons) and the
# `keywright` command (/usr/bin/keywright, also the activation server, `keywright
# serve`), and declares what they need to run (tauri.conf.json, bundle.linux).
#
#   scripts/package.sh              # debug profile
#   scripts/package.sh --release    # release profile, as the release workflow builds it
#   scripts/package.sh --prebuilt   # the debug binaries already in target/debug, not
#                                   # compiled again: scripts/test.sh packs those its
#                                   # cargo test built (app with custom-protocol), so
#                                   # packaging adds no compile to a test run
#
# The packages land in target/<profile>/bundle/{deb,rpm}/; their paths are printed last.
# Updater artifacts (signed bundles) are made only by the release workflow, which holds
# the signing key: here they are turned off. The AppImage is left to the release
# workflow too: its tooling downloads binaries while it builds.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_flags=()
bundle_flags=(--debug)
build=1
case "${1:-}" in
  "") ;;
  --release) profile=release cargo_flags=(--release) bundle_flags=() ;;
  --prebuilt) build=0 ;;
  *) echo "usage: scripts/package.sh [--release | --prebuilt]" >&2; exit 2 ;;
esac

[ -x ui/node_modules/.bin/tauri ] || (cd ui && npm ci --no-audit --no-fund --loglevel=error)

if [ "$build" = 1 ]; then
  # The window's files are compiled into the app (generate_context! reads ui/dist).
  (cd ui && npm run build --silent >/dev/null)
  # Both binaries in one cargo run, the app with its files served from the binary (what
  # `tauri build` turns on); then the bundler packs what is built.
  echo "==> cargo build ($profile): keywright-app, keywright"
  cargo build "${cargo_flags[@]}" --locked -p keywright-app -p keywright-cli --bins \
    --features keywright-app/custom-protocol
else
  for bin in keywright-app keywright; do
    [ -x "target/debug/$bin" ] || { echo "target/debug/$bin is not built (run cargo test or scripts/package.sh)" >&2; exit 1; }
  done
fi

out=target/tmp/package
mkdir -p "$out"
# Merged over tauri.conf.json: this profile's CLI binary, and no updater artifacts.
cat > "$out/tauri.package.json" <<JSON
{
  "bundle": {
    "createUpdaterArtifacts": false,
    "linux": {
      "deb": { "files": { "/usr/bin/keywright": "target/$profile/keywright" } },
      "rpm": { "files": { "/usr/bin/keywright": "target/$profile/keywright" } }
    }
  }
}
JSON

echo "==> tauri bundle ($profile): deb, rpm"
rm -rf "target/$profile/bundle/deb" "target/$profile/bundle/rpm"
ui/node_modules/.bin/tauri bundle "${bundle_flags[@]}" --bundles deb,rpm --config "$out/tauri.package.json"

ls -1 "target/$profile/bundle/deb/"*.deb "target/$profile/bundle/rpm/"*.rpm
