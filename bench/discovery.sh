#!/usr/bin/env bash
# Discovery benchmark: how long `scalepatch diff` takes on the bundled sample project and on a
# generated 20,000-file monorepo (bench/gen_tree.py), next to `rg --files` listing the same tree
# and `rg -l` searching it for the words the Phase 1 analyses look for (the same gitignore rules:
# hidden files included, .gitignore honoured outside a git checkout): the Phase 1 plan should stay
# within 1.5x of that search, which reads every file once, as scalepatch must.
#
#   bench/discovery.sh [--runs N]        writes bench/results.md
#
# Needs hyperfine and ripgrep (Debian packages, installed when missing) and a release build.
# CPU-heavy for a minute or two: run it on a quiet machine.
set -euo pipefail

RUNS=20
while (($#)); do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        *) echo "usage: bench/discovery.sh [--runs N]" >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TREE="$ROOT/target/bench/tree"
RESULTS="$ROOT/bench/results.md"
BIN="$ROOT/target/release/scalepatch"
SAMPLE="$ROOT/fixtures/projects/wingman"

missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v rg >/dev/null || missing+=(ripgrep)
if ((${#missing[@]})); then
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" </dev/null
fi

echo "==> cargo build --release"
cargo build --release --quiet

echo "==> generating the tree in $TREE"
python3 bench/gen_tree.py "$TREE"
files_total=$(find "$TREE" -type f | wc -l)
files_listed=$(rg --files --hidden --no-require-git "$TREE" | wc -l)

# What the measured runs do: the size of the diffs they print.
sample_lines=$("$BIN" diff "$SAMPLE" 2>/dev/null | wc -l)
tree_lines=$("$BIN" diff "$TREE" 2>/dev/null | wc -l)

# The words the Phase 1 analyses pick candidate files by: servers, settings, nginx, Celery.
WORDS="-e gunicorn -e uwsgi -e uvicorn -e daphne -e granian -e DATABASES -e CACHES -e proxy_pass -e gzip -e celery"

echo "==> hyperfine ($RUNS runs each)"
table=$(mktemp)
trap 'rm -f "$table"' EXIT
hyperfine --shell=none --warmup 3 --runs "$RUNS" --export-markdown "$table" \
    --command-name "scalepatch diff (sample project)" "$BIN diff $SAMPLE" \
    --command-name "scalepatch diff (20,000-file tree)" "$BIN diff $TREE" \
    --command-name "scalepatch diff --with db-indexes (20,000-file tree)" "$BIN diff --with db-indexes $TREE" \
    --command-name "rg --files (20,000-file tree)" "rg --files --hidden --no-require-git $TREE" \
    --command-name "rg -l for the Phase 1 words (20,000-file tree)" "rg -l --hidden --no-require-git $WORDS $TREE"

memory_gib=$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
# bench/large_file.sh and bench/indexes.sh keep their own sections of the results; carry them over.
large_file=$(sed -n '/<!-- large-file:start -->/,/<!-- large-file:end -->/p' "$RESULTS" 2>/dev/null || true)
indexes=$(sed -n '/<!-- indexes:start -->/,/<!-- indexes:end -->/p' "$RESULTS" 2>/dev/null || true)
{
    echo "# Discovery benchmark"
    echo
    echo "Measured by \`bench/discovery.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), scalepatch at" \
        "\`$(git rev-parse --short HEAD)\`$(git diff --quiet HEAD -- src patches || echo ' (with local changes)')."
    echo
    echo "- Machine: $(nproc) CPUs (${cpu_model:-unknown model}), ${memory_gib} GiB memory, $(uname -sr)."
    echo "- Tools: $(hyperfine --version), $(rg --version | sed -n 1p), $(rustc --version)."
    echo "- Tree: \`bench/gen_tree.py\` (deterministic): $files_total files, $files_listed of them not ignored" \
        "(the rest in node_modules/, .venv/, build/ and __pycache__/ folders that .gitignore excludes)."
    echo "- Work done: \`scalepatch diff\` prints a $sample_lines-line diff on the sample and a $tree_lines-line" \
        "diff on the tree."
    echo
    cat "$table"
    [[ -z $large_file ]] || printf '\n%s\n' "$large_file"
    [[ -z $indexes ]] || printf '\n%s\n' "$indexes"
} >"$RESULTS"
echo "==> wrote $RESULTS"
cat "$RESULTS"
