#!/usr/bin/env bash
# Installs the .deb that scripts/package.sh built into this machine, checks what it
# installed, starts the INSTALLED app under Xvfb until its first screen is painted,
# screenshots it, and removes the package again, whatever happens. Needs root or sudo
# (as scripts/setup-debian.sh does), Xvfb, gnome-keyring, xdotool, ImageMagick and
# desktop-file-validate (scripts/setup-debian.sh installs them).
#
#   scripts/package-test.sh [debug|release]     (default: debug, what package.sh builds)
#
# Artifacts in target/tmp/package/: keywright.png (the screen), keywright-window.png (the
# window alone), app.log (the app's standard error), dpkg-info.txt, dpkg-contents.txt,
# rpm-requires.txt and rpm-contents.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-debug}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
out=target/tmp/package
mkdir -p "$out"
rm -f "$out/keywright.png" "$out/keywright-window.png" "$out/app.log"

debs=("target/$profile/bundle/deb/"*.deb)
[ -f "${debs[0]}" ] || { echo "no .deb in target/$profile/bundle/deb: run scripts/package.sh first" >&2; exit 1; }
deb=$(realpath "${debs[0]}")
pkg=$(dpkg-deb -f "$deb" Package)
version=$(dpkg-deb -f "$deb" Version)
dpkg-deb -I "$deb" > "$out/dpkg-info.txt"
dpkg-deb -c "$deb" > "$out/dpkg-contents.txt"

# The .rpm (built beside it; not installed here, Debian is not its home): what it needs
# and holds.
rpms=("target/$profile/bundle/rpm/"*.rpm)
if [ -f "${rpms[0]}" ]; then
  rpm -qpR "${rpms[0]}" > "$out/rpm-requires.txt" 2>/dev/null
  rpm -qlp "${rpms[0]}" > "$out/rpm-contents.txt" 2>/dev/null
  for need in 'libwebkit2gtk-4.1.so.0()(64bit)' 'libgtk-3.so.0()(64bit)' openssl-libs dbus-libs; do
    grep -qxF "$need" "$out/rpm-requires.txt" || { echo "package test: the .rpm does not require $need" >&2; exit 1; }
  done
  for f in /usr/bin/keywright-app /usr/bin/keywright /usr/share/applications/Keywright.desktop; do
    grep -qxF "$f" "$out/rpm-contents.txt" || { echo "package test: the .rpm does not hold $f" >&2; exit 1; }
  done
  echo "rpm $(basename "${rpms[0]}"): requires and files as expected"
fi

# Never replace or remove a Keywright this machine has installed for real.
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
  echo "$pkg is already installed on this machine; the package test will not replace it" >&2
  exit 1
fi

fail() { echo "package test: $*" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
  echo "==> removing $pkg"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get remove -y -qq "$pkg" >/dev/null 2>&1 ||
    $sudo dpkg -r "$pkg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# apt resolves the package's Depends, as `apt install ./keywright_….deb` does for a user.
echo "==> apt-get install $deb"
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
dpkg-query -W -f='${Status}\n' "$pkg" | grep -q "install ok installed" || fail "$pkg did not install"

echo "==> what it installed"
files=$(dpkg -L "$pkg")
for f in /usr/bin/keywright-app /usr/bin/keywright; do
  [ -x "$f" ] || fail "$f is missing or not executable"
  grep -qx "$f" <<<"$files" || fail "$f does not belong to $pkg"
done
desktop=$(grep -E '^/usr/share/applications/.*\.desktop$' <<<"$files" | head -1)
[ -n "$desktop" ] || fail "no desktop entry in /usr/share/applications"
desktop-file-validate "$desktop" || fail "$desktop does not validate"
exec_line=$(sed -n 's/^Exec=//p' "$desktop")
icon_name=$(sed -n 's/^Icon=//p' "$desktop")
[ "${exec_line%% *}" = keywright-app ] || fail "$desktop runs '$exec_line', not keywright-app"
icon=$(grep -E "^/usr/share/icons/hicolor/128x128/apps/$icon_name\.png$" <<<"$files" | head -1)
[ -n "$icon" ] || fail "no 128x128 icon named $icon_name"
[ "$(head -c 8 "$icon" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$icon is not a PNG"
echo "desktop entry $desktop (valid), icon $icon"

# The installed CLI answers with the package's version.
cli_version=$(/usr/bin/keywright --version)
[ "$cli_version" = "keywright $version" ] || fail "keywright --version said '$cli_version', want 'keywright $version'"
echo "$cli_version"

# The installed app, on a store and settings of its own (temporary HOME and XDG folders,
# KEYWRIGHT_STORE), its own D-Bus session with an unlocked gnome-keyring, its own
# XDG_RUNTIME_DIR (gnome-keyring's socket), a virtual display. It never looks for
# updates here (no network, and nothing to install): that is the loopback test's job.
echo "==> starting /usr/bin/keywright-app under Xvfb"
mkdir -m 700 "$work/run" "$work/home"
export KEYWRIGHT_PACKAGE_OUT=$PWD/$out
# shellcheck disable=SC2016  # the inner script's variables are the inner shell's
HOME="$work/home" XDG_RUNTIME_DIR="$work/run" XDG_DATA_HOME="$work/home/.local/share" \
  XDG_CONFIG_HOME="$work/home/.config" KEYWRIGHT_STORE="$work/store.db" \
  KEYWRIGHT_TRACE_STARTUP=1 \
  timeout 180 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
    set -euo pipefail
    out=$KEYWRIGHT_PACKAGE_OUT
    echo -n keywright-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    mkdir -p "$XDG_CONFIG_HOME/keywright"
    printf "{\"checkForUpdates\": false}\n" > "$XDG_CONFIG_HOME/keywright/settings.json"
    /usr/bin/keywright-app 2> "$out/app.log" &
    app=$!
    trap "kill $app 2>/dev/null || true" EXIT
    # The first screen is painted when the window calls ui_ready (KEYWRIGHT_TRACE_STARTUP).
    for _ in $(seq 1 240); do
      grep -q "keywright-startup: ui_ready" "$out/app.log" && break
      kill -0 "$app" 2>/dev/null || { echo "the app exited:" >&2; cat "$out/app.log" >&2; exit 1; }
      sleep 0.25
    done
    grep -q "keywright-startup: ui_ready" "$out/app.log" || { echo "no first screen within 60 s" >&2; cat "$out/app.log" >&2; exit 1; }
    window=$(xdotool search --onlyvisible --name "^Keywright$" | head -1)
    [ -n "$window" ] || { echo "no visible window named Keywright" >&2; exit 1; }
    sleep 1  # the paint after ui_ready reaches the X server
    import -window root "$out/keywright.png"
    import -window "$window" "$out/keywright-window.png"
    colors=$(identify -format "%k" "$out/keywright.png")
    echo "window $window, screenshot $out/keywright.png: $colors colours"
    [ "$colors" -ge 64 ] || { echo "the screenshot is blank ($colors colours)" >&2; exit 1; }
  ' || fail "the installed app did not show its first screen (see $out/app.log)"
grep -q "keywright-startup: ui_ready" "$out/app.log"
echo "package test passed: $pkg $version installed, checked, started, removed"
