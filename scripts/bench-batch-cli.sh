#!/usr/bin/env bash
# Times `keywright license batch` end to end (issue 18): process start, opening the
# store, reading the signing key from the REAL OS keychain (a private gnome-keyring in
# a private D-Bus session, as scripts/test.sh uses), parsing the CSV, and issuing 10,000
# licenses with their customers and audit rows into a new SQLite store; then the same
# with a `.lic` file each (`--out`, which also writes the `.eml` drafts). Each run gets
# a store of its own, set up (key, product, policy) before the clock starts.
#
#   scripts/bench-batch-cli.sh            # 10,000 rows, 5 runs each
#   scripts/bench-batch-cli.sh 1000 3     # rows, runs
#
# Needs hyperfine, dbus-run-session and gnome-keyring (Debian packages); builds the
# release CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000}
runs=${2:-5}

if [ -z "${KEYWRIGHT_BENCH_SESSION:-}" ]; then
  cargo build --release -p keywright-cli --quiet
  home=$(mktemp -d)
  trap 'rm -rf "$home"' EXIT
  mkdir -m 700 "$home/run"
  # shellcheck disable=SC2016 # $0 and $@ expand in the inner shell
  XDG_RUNTIME_DIR="$home/run" XDG_DATA_HOME="$home" KEYWRIGHT_BENCH_SESSION=1 \
    dbus-run-session -- bash -c \
    'echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$0" "$@"' \
    "$0" "$rows" "$runs"
  exit
fi

kw=$PWD/target/release/keywright
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$rows" > "$work/orders.csv" <<'EOF'
import sys
n = int(sys.argv[1])
print("name,email,company,policy,quantity,order id,reseller")
for i in range(n):
    print(f"Buyer {i},buyer{i}@example.com,Company {i % 97},Yearly,1,ORD-{i},R{i % 5}")
EOF

# A new store, set up, its path in $work/current (the timed command reads it).
cat > "$work/prepare.sh" <<EOF
set -e
d=\$(mktemp -d "$work/store.XXXXXX")
"$kw" --store "\$d/s.db" key create --name Main >/dev/null
"$kw" --store "\$d/s.db" product create --name Zapper --code ZAP >/dev/null
"$kw" --store "\$d/s.db" policy create --product ZAP --name Yearly --duration 1y --encrypt >/dev/null
echo "\$d" > "$work/current"
EOF

hyperfine --runs "$runs" --style basic --export-markdown "$work/keys.md" \
  --prepare "bash $work/prepare.sh" \
  -n "keywright license batch ($rows rows)" \
  "d=\$(cat $work/current); $kw --store \$d/s.db license batch $work/orders.csv > /dev/null"
hyperfine --runs "$runs" --style basic --export-markdown "$work/files.md" \
  --prepare "bash $work/prepare.sh" \
  -n "keywright license batch --out DIR ($rows rows: .lic files and .eml drafts)" \
  "d=\$(cat $work/current); $kw --store \$d/s.db license batch $work/orders.csv --out \$d/out > /dev/null"
echo
cat "$work/keys.md"
tail -n 1 "$work/files.md"
