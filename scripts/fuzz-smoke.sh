#!/usr/bin/env bash
# A short fuzz smoke of every parser: each cargo-fuzz target runs for a few seconds,
# seeded with Keygen's real files, keys and public keys. Stable Rust works with
# `--sanitizer none` (libFuzzer's coverage guidance, without AddressSanitizer).
#   scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-15}
vectors=../crates/keywright-license/tests/vectors
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT

seed() { # seed TARGET PREFIX_BYTE FILES...
  local target=$1 prefix=$2; shift 2
  mkdir -p "$corpus/$target"
  local i=0
  for f in "$@"; do
    if [ -n "$prefix" ]; then
      { printf "\\x$prefix"; cat "$f"; } > "$corpus/$target/seed-$i"
    else
      cp "$f" "$corpus/$target/seed-$i"
    fi
    i=$((i + 1))
  done
}
seed certificate_parse "" "$vectors"/files/*.lic
seed open_file "00" "$vectors"/files/*.lic
seed verify_key "00" "$vectors"/keys/*.key
seed public_key_parse "" "$vectors"/pubkeys/*
mkdir -p "$corpus/activation_parse" # starts empty: libFuzzer finds the armor from the code
mkdir -p "$corpus/backup_parse" # starts empty too: the header's magic is in the code
mkdir -p "$corpus/key_bundle_open" # likewise

for target in certificate_parse open_file verify_key public_key_parse activation_parse backup_parse key_bundle_open; do
  echo "==> fuzz $target for ${seconds}s"
  log="$corpus/$target.log"
  if ! cargo fuzz run "$target" --sanitizer none "$corpus/$target" -- \
      -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $target failed (a crash leaves its input in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  grep -E "^Done |stat::number_of_executed_units" "$log"
done
