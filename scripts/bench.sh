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

if command -v valgrind >/dev/null; then
  echo "== formats: instruction counts (callgrind; load-independent)"
  cargo build --release -p keywright-license --example verify_loop
  loop_bin="$CARGO_TARGET_DIR/release/examples/verify_loop"
  count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$loop_bin" "$@" 2>&1 |
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
  }
  rows=""
  for size in large small; do
    none=$(count none "$size") raw=$(count raw "$size")
    strict=$(count strict "$size") file=$(count file "$size")
    rows+="$size $none $raw $strict $file"$'\n'
  done
  python3 - "$rows" <<'EOF'
import sys
lines = [l.split() for l in sys.argv[1].strip().splitlines()]
label = {"large": "Keygen's 9.2 KB document", "small": "a 2.1 KB document"}
out = ["Instructions per call (valgrind callgrind, 200 calls minus the setup; the "
       "machine's load does not change them): `scripts/bench.sh`.", "",
       "| document | raw verify | raw verify_strict | verify_license_file | × verify | × verify_strict |",
       "| --- | ---: | ---: | ---: | ---: | ---: |"]
for size, none, raw, strict, file in lines:
    per = lambda x: (int(x) - int(none)) / 200
    r, s, f = per(raw), per(strict), per(file)
    out.append(f"| {label[size]} | {r:,.0f} | {s:,.0f} | {f:,.0f} | {f / r:.2f} | {f / s:.2f} |")
body = "\n".join(out)
print(body)
path = "docs/benchmarks.md"
doc = open(path).read()
start, end = "<!-- formats_instructions:start -->", "<!-- formats_instructions:end -->"
section = f"{start}\n{body}\n{end}"
if start in doc and end in doc:
    doc = doc[: doc.index(start)] + section + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(doc)
EOF
fi

echo "== large store"
cargo bench -p keywright-core --bench large_store -- --write

echo "== license list"
cargo bench -p keywright-core --bench license_list -- --write

if [ "$app" = 1 ]; then
  echo "== app"
  scripts/bench-app.sh --write
fi
echo "docs/benchmarks.md updated"
