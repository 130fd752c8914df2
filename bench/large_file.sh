#!/usr/bin/env bash
# Memory with a 1 GiB input file: scalepatch must name a file over its 8 MiB limit without reading
# it whole. On a scratch copy of fixtures/projects/wingman, one file at a time is made a 1 GiB
# sparse file (`truncate -s 1G`: nothing on disk, 1 GiB for anyone who reads it), then the release
# binary runs `scalepatch diff --with db-indexes` (every patch, so every reader, models.py
# included) under `/usr/bin/time -v`. Each case must name the file as too large, exit as expected
# (2, an input error, for a deployment or models file; 0 for requirements.txt, which only costs the
# package versions, a warning, as a binary requirements file costs nothing) and stay under 100 MB
# of peak RSS; the script fails otherwise.
#
#   bench/large_file.sh        prints the table and writes it into bench/results.md
#
# Not a timed test: the figures are memory, and a few seconds in all. Needs GNU time (/usr/bin/time).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/scalepatch"
SAMPLE="$ROOT/fixtures/projects/wingman"
RESULTS="$ROOT/bench/results.md"
LIMIT_KB=97656 # 100 MB (10^8 bytes) in the KiB that GNU time reports
# file made 1 GiB:expected exit code
CASES=(none:0 Dockerfile:2 docker-compose.yml:2 requirements.txt:0 chat/models.py:2)

[[ -x /usr/bin/time ]] || { echo "bench/large_file.sh: needs GNU time at /usr/bin/time" >&2; exit 2; }
echo "==> cargo build --release"
cargo build --release --quiet

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# One case: prints a table row; returns 1 when the case breaks its promise.
run_case() {
    local file=${1%:*} expected=${1##*:} project="$scratch/project" report="$scratch/time" rc=0
    rm -rf "$project"
    cp -r "$SAMPLE" "$project"
    [[ $file == none ]] || truncate -s 1G "$project/$file"
    /usr/bin/time -v -o "$report" "$BIN" diff --with db-indexes "$project" >/dev/null 2>"$scratch/stderr" || rc=$?
    local rss named=no ok=yes
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$report")
    if [[ $file == none ]]; then
        named=-
    else
        grep -qF "$file: too large (1073741824 bytes" "$scratch/stderr" && named=yes
        [[ $named == yes ]] || ok=no
    fi
    ((rc == expected)) || ok=no
    ((rss <= LIMIT_KB)) || ok=no
    printf '| %s | %s | %s | %d KiB (%.1f MB) | %s |\n' \
        "$([[ $file == none ]] && echo '(none: the sample as is)' || echo "\`$file\`")" \
        "$rc" "$named" "$rss" "$(echo "$rss * 1024 / 1000000" | bc -l)" "$ok"
    [[ $ok == yes ]] || { sed 's/^/    /' "$scratch/stderr" >&2; return 1; }
}

table=$(
    echo "| file made 1 GiB | exit | named as too large | peak RSS | ok |"
    echo "|:---|---:|:---|---:|:---|"
    failed=0
    for case in "${CASES[@]}"; do
        run_case "$case" || failed=1
    done
    exit "$failed"
) && status=0 || status=$?
echo "$table"

section=$(
    echo "<!-- large-file:start -->"
    echo "## Large input files"
    echo
    echo "Measured by \`bench/large_file.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), scalepatch at" \
        "\`$(git rev-parse --short HEAD)\`$(git diff --quiet HEAD -- src patches || echo ' (with local changes)')," \
        "$(nproc) CPUs, $(uname -sr): peak RSS of \`/usr/bin/time -v scalepatch diff --with db-indexes\` on" \
        "a copy of the sample project with one file made a 1 GiB sparse file (limit: 100 MB)."
    echo
    echo "$table"
    echo "<!-- large-file:end -->"
)
if grep -q '<!-- large-file:start -->' "$RESULTS" 2>/dev/null; then
    awk -v section="$section" '
        /<!-- large-file:start -->/ { print section; skip = 1; next }
        /<!-- large-file:end -->/ { skip = 0; next }
        !skip { print }
    ' "$RESULTS" >"$scratch/results.md"
    cp "$scratch/results.md" "$RESULTS"
else
    printf '\n%s\n' "$section" >>"$RESULTS"
fi
echo "==> wrote the large-file section of $RESULTS"
exit "$status"
