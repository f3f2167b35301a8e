#!/usr/bin/env bash
# Reproduces every figure of docs/benchmarks.md (issue 7's speed targets) and rewrites
# the sections it owns there (other sections are left alone).
#
#   scripts/bench.sh            # everything (the app build alone takes 10+ min on 2 cores)
#   scripts/bench.sh --no-app   # skip the release app (.deb, start time, memory)
#   scripts/bench.sh --quick    # shorter criterion runs (ratios stay comparable)
#
# What runs:
#   1. crates/keywright-license/benches/formats.rs: criterion, sign/verify/encode/decode
#      per key scheme and file algorithm with raw ed25519-dalek as the baseline, then
#      the round-robin ratio table (section `formats`).
#   2. crates/keywright-core/benches/large_store.rs: 100,000 licenses, 100,000 machines,
#      1,000,000 audit rows through the command layer (section `large_store`).
#   3. crates/keywright-core/benches/license_list.rs: the issue-4 list bench
#      (section `license_list`).
#   4. scripts/bench-app.sh: .deb size, start time, memory (section `app`).
# Ratios are robust on a shared machine; absolute figures are not. Each section records
# the load average it was measured under.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target}"

app=1 criterion_args=()
for arg in "$@"; do
  case "$arg" in
    --no-app) app=0 ;;
    --quick) criterion_args=(--warm-up-time 1 --measurement-time 2) ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine="Machine: $(nproc) cores (\`nproc\`), $cpu, $(awk '/MemTotal/ {printf "%.1f GB RAM", $2 / 1048576}' /proc/meminfo), $(uname -sr); rustc $(rustc --version | cut -d' ' -f2). Run started $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)."
python3 - "$machine" <<'EOF'
import sys
path = "docs/benchmarks.md"
doc = open(path).read()
start, end = "<!-- machine:start -->", "<!-- machine:end -->"
section = f"{start}\n{sys.argv[1]}\n{end}"
if start in doc and end in doc:
    doc = doc[: doc.index(start)] + section + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(doc)
EOF

echo "== formats (criterion + ratios)"
KEYWRIGHT_BENCH_WRITE=1 cargo bench -p keywright-license --bench formats -- "${criterion_args[@]}"

echo "== large store"
cargo bench -p keywright-core --bench large_store -- --write

echo "== license list"
cargo bench -p keywright-core --bench license_list -- --write

if [ "$app" = 1 ]; then
  echo "== app"
  scripts/bench-app.sh --write
fi
echo "docs/benchmarks.md updated"
