#!/usr/bin/env bash
# The desktop app's size, start time and memory (issue 7 targets: .deb <= 15 MB, cold
# start to an interactive window <= 1.5 s, memory <= 200 MB) on a store of 100,000
# licenses, 100,000 machines and 1,000,000 audit rows.
#
#   scripts/bench-app.sh [--write] [--skip-build] [--runs N]
#
# 1. Builds the UI and the release .deb with the pinned Tauri CLI (ui/node_modules), and
#    reports the .deb's size. (Only the deb bundle: AppImage needs downloads.)
# 2. Builds (or reuses) the large store with the large_store bench's own builder
#    (`cargo bench -p keywright-core --bench large_store`, cached under the target dir)
#    and copies it to a temporary folder, so the app opens a store nobody else writes.
# 3. Starts Xvfb, then launches the release binary N times (default 5) with
#    KEYWRIGHT_STORE=<copy> and KEYWRIGHT_TRACE_STARTUP=1. Start time = the moment the
#    window's first screen is painted (the UI calls `ui_ready`, which the app logs with
#    a Unix timestamp) minus the moment this script exec'd the binary. The file cache
#    is warm (the binary and store were just read): a true cold boot is slower.
# 4. Memory, 3 s after ready: VmRSS and PSS (/proc/PID/smaps_rollup) of the app process
#    and every descendant (WebKitGTK's WebKitWebProcess and WebKitNetworkProcess).
#    RSS counts shared libraries once per process; PSS splits them, so the PSS sum is
#    the honest total.
# With --write, the results replace the `app` section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

write=0 build=1 runs=5
while [ $# -gt 0 ]; do
  case "$1" in
    --write) write=1 ;;
    --skip-build) build=0 ;;
    --runs) runs="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '%s\n' "$*" >&2; }

# 1. Build.
if [ "$build" = 1 ]; then
  log "building the UI and the release .deb (slow on 2 cores)…"
  npm --prefix ui run build >&2
  # The Tauri CLI is ui/'s devDependency (pinned to a version whose every platform
  # package is in the registry, so `npm ci` works everywhere).
  [ -x ui/node_modules/.bin/tauri ] || (cd ui && npm ci --no-audit --no-fund --loglevel=error) >&2
  # The .deb carries the keywright command too (tauri.conf.json: bundle.linux.deb.files).
  cargo build --release --locked -p keywright-cli --bin keywright >&2
  # The UI was just built, so beforeBuildCommand is skipped; no updater artifacts (the
  # release workflow holds their signing key).
  ui/node_modules/.bin/tauri build --bundles deb --config "{\"build\":{\"beforeBuildCommand\":\"\"},
    \"bundle\":{\"createUpdaterArtifacts\":false,
    \"linux\":{\"deb\":{\"files\":{\"/usr/bin/keywright\":\"$CARGO_TARGET_DIR/release/keywright\"}}}}}" >&2
fi
app="$CARGO_TARGET_DIR/release/keywright-app"
deb=$(ls -t "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb 2>/dev/null | head -n 1 || true)
[ -x "$app" ] || { log "no release binary at $app"; exit 1; }
[ -n "$deb" ] || { log "no .deb under $CARGO_TARGET_DIR/release/bundle/deb"; exit 1; }
deb_bytes=$(stat -c %s "$deb")
bin_bytes=$(stat -c %s "$app")
installed_kb=$(dpkg-deb -f "$deb" Installed-Size 2>/dev/null || echo "?")

# 2. The large store.
# The bench's data version names the cached file (bumped when the data changes).
data_version=$(sed -n 's/^const DATA_VERSION: u32 = \([0-9]*\);/\1/p' crates/keywright-core/benches/large_store.rs)
store_src="$CARGO_TARGET_DIR/tmp/large-store-v$data_version-100000-100000-1000000.db"
if [ ! -f "$store_src" ]; then
  log "building the large store (first time only)…"
  cargo bench -p keywright-core --bench large_store >&2
fi
work=$(mktemp -d)
xvfb_pid=""
app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cp "$store_src" "$work/store.db"
licenses=$(sqlite3 "$work/store.db" "SELECT count(*) FROM licenses")
machines=$(sqlite3 "$work/store.db" "SELECT count(*) FROM machines")
audit=$(sqlite3 "$work/store.db" "SELECT count(*) FROM audit_events")

# 3. Launches.
display=":$((90 + RANDOM % 100))"
Xvfb "$display" -screen 0 1280x1024x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 50); do
  xdpyinfo -display "$display" >/dev/null 2>&1 && break
  sleep 0.1
done

descendants() {
  local pid=$1 child
  echo "$pid"
  for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
    descendants "$child"
  done
}

starts=() pss_totals=() rss_totals=() counted=""
for run in $(seq "$runs"); do
  err="$work/run$run.err"
  : >"$err"
  launched=$(date +%s%3N)
  DISPLAY="$display" KEYWRIGHT_STORE="$work/store.db" KEYWRIGHT_TRACE_STARTUP=1 \
    "$app" 2>"$err" >/dev/null &
  app_pid=$!
  ready=""
  for _ in $(seq 600); do
    ready=$(sed -n 's/.*keywright-startup: ui_ready unix_ms=\([0-9]*\).*/\1/p' "$err" | head -n 1)
    [ -n "$ready" ] && break
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$ready" ]; then
    log "run $run: the window never reported ready; its stderr:"
    cat "$err" >&2
    exit 1
  fi
  start_ms=$((ready - launched))
  store_ms=$(sed -n 's/.*store_open took_ms=\([0-9]*\).*/\1/p' "$err" | head -n 1)
  sleep 3
  rss=0 pss=0 procs=()
  for pid in $(descendants "$app_pid"); do
    [ -r /proc/"$pid"/status ] || continue
    name=$(cat /proc/"$pid"/comm)
    r=$(awk '/^VmRSS:/ {print $2}' /proc/"$pid"/status)
    p=$(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup 2>/dev/null || echo 0)
    rss=$((rss + ${r:-0})) pss=$((pss + ${p:-0}))
    procs+=("$name $((${r:-0} / 1024))/$((${p:-0} / 1024)) MB")
  done
  counted=$(IFS=', '; echo "${procs[*]}")
  log "run $run: ready after ${start_ms} ms (store opened in ${store_ms:-?} ms); RSS $((rss / 1024)) MB, PSS $((pss / 1024)) MB [RSS/PSS: $counted]"
  starts+=("$start_ms") rss_totals+=("$rss") pss_totals+=("$pss")
  kill "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
  app_pid=""
  sleep 1
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maxof() { printf '%s\n' "$@" | sort -n | tail -n 1; }
start_med=$(median "${starts[@]}")
start_max=$(maxof "${starts[@]}")
rss_med=$(( $(median "${rss_totals[@]}") / 1024 ))
pss_med=$(( $(median "${pss_totals[@]}") / 1024 ))
deb_mb=$(awk -v b="$deb_bytes" 'BEGIN {printf "%.1f", b / 1048576}')
bin_mb=$(awk -v b="$bin_bytes" 'BEGIN {printf "%.1f", b / 1048576}')
verdict() { if [ "$1" -le "$2" ]; then echo pass; else echo "**FAIL**"; fi; }
deb_pass=$(verdict "$deb_bytes" $((15 * 1024 * 1024)))
start_pass=$(verdict "$start_med" 1500)
mem_pass=$(verdict "$pss_med" 200)

load=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
section="Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($cpu), load average $load, \
release build, WebKitGTK $(dpkg-query -W -f '${Version}' libwebkit2gtk-4.1-0 2>/dev/null || echo '?') under Xvfb; \
store: $licenses licenses, $machines machines, $audit audit rows; $runs launches, warm file cache. \
\`scripts/bench-app.sh --write\`.

| target | measured | limit | result |
| --- | ---: | ---: | :---: |
| \`.deb\` size ($(basename "$deb")) | $deb_mb MB | 15 MB | $deb_pass |
| start to the first painted screen, median (max) | $start_med ms ($start_max ms) | 1500 ms | $start_pass |
| memory 3 s after start, PSS of all processes (median) | $pss_med MB | 200 MB | $mem_pass |
| memory, RSS sum (counts shared pages once per process) | $rss_med MB | | |

Binary: $bin_mb MB; installed size $installed_kb KiB. Processes counted (last run, RSS/PSS): $counted."

printf '%s\n' "$section"
if [ "$write" = 1 ]; then
  python3 - "$section" <<'EOF'
import sys
path = "docs/benchmarks.md"
doc = open(path).read()
start, end = "<!-- app:start -->", "<!-- app:end -->"
section = f"{start}\n{sys.argv[1]}\n{end}"
if start in doc and end in doc:
    doc = doc[: doc.index(start)] + section + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(doc)
print(f"wrote {path}")
EOF
fi
