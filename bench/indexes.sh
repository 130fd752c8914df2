#!/usr/bin/env bash
# db-indexes speed: `scalepatch diff --only db-indexes` on generated Django trees of 1,000 and
# 4,000 apps (each app: models with shared class names, views that query them, a migration), side
# by side in one run, and django-upgrade (installed from PyPI into a bench-only venv under
# target/, never .venv) over the same Python files. Checks the two targets of issue 14: the
# 4,000-app tree takes at most 5x the 1,000-app one, and scalepatch is at least 3x faster than
# django-upgrade. Writes its section of bench/results.md.
#
# Usage: bench/indexes.sh [--runs N]
set -euo pipefail

runs=3
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        *) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$target/bench-indexes"
venv="$work/venv"
mkdir -p "$work"

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$target/release/scalepatch"

if [ ! -x "$venv/bin/django-upgrade" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet django-upgrade
fi

# One generated tree: $1 apps under $2. Every app reuses the model names of the others (Item,
# Order, Tag), as real monorepos do, so resolving a name by the file's imports matters. Each
# module's docstring names its app, so no two files have the same text: scalepatch parses a
# text once per run, and identical files would not measure parsing every one of them.
generate() {
    python3 - "$1" "$2" <<'PY'
import os, sys
apps, out = int(sys.argv[1]), sys.argv[2]
def write(path, text):
    path = os.path.join(out, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
names = [f"app{i:05d}" for i in range(apps)]
write("manage.py", "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')\n")
write("config/__init__.py", "")
write("config/settings.py", "INSTALLED_APPS = [\n" + "".join(f"    'apps.{n}',\n" for n in names) + "]\n"
      "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'bench'}}\n")
write("requirements.txt", "Django==5.2\npsycopg==3.2.3\n")
write("apps/__init__.py", "")
for n in names:
    write(f"apps/{n}/__init__.py", "")
    write(f"apps/{n}/models.py", f'''"""The models of {n}."""
from django.db import models


class Tag(models.Model):
    label = models.CharField(max_length=40, unique=True)


class Item(models.Model):
    owner = models.ForeignKey("auth.User", on_delete=models.CASCADE)
    status = models.CharField(max_length=10, choices=[("a", "A"), ("b", "B"), ("c", "C"), ("d", "D"), ("e", "E")])
    region = models.CharField(max_length=20)
    created = models.DateTimeField()
    tags = models.ManyToManyField(Tag)

    class Meta:
        ordering = ["-created"]


class Order(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE)
    state = models.CharField(max_length=10)
    placed = models.DateTimeField()
''')
    write(f"apps/{n}/views.py", f'''"""The views of {n}."""
from django.shortcuts import get_object_or_404

from .models import Item, Order


def items(request, owner):
    qs = Item.objects.filter(owner=owner, status="a")
    return qs.order_by("-created")


def by_region(request, region):
    return list(Item.objects.filter(region=region).order_by("-created"))


def orders(request, item_id):
    return Order.objects.filter(item_id=item_id, state="open").order_by("-placed")


def order(request, pk):
    return get_object_or_404(Order, pk=pk)
''')
    write(f"apps/{n}/migrations/__init__.py", "")
    write(f"apps/{n}/migrations/0001_initial.py", '''from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(name="Tag", fields=[("id", models.AutoField(primary_key=True))]),
    ]
''')
PY
}

generator_version=2
for apps in 1000 4000; do
    tree="$work/tree-$apps"
    # Generated again when the generator changes (the version in .generated).
    if [ "$(cat "$tree/.generated" 2>/dev/null)" != "$generator_version" ]; then
        rm -rf "$tree"
        generate "$apps" "$tree"
        echo "$generator_version" > "$tree/.generated"
    fi
done

# Median CPU time (user + sys, all threads) of `runs` runs of a command, in seconds: the machine is
# shared, so wall time says more about the neighbours than about the tool. Exit 0 or 1 (changes).
timed() {
    local times=()
    for _ in $(seq "$runs"); do
        local cpu
        local status=0
        /usr/bin/time -o "$work/time.txt" -f '%U %S' "$@" >/dev/null 2>&1 || status=$?
        # scalepatch exits 1 when changes are pending; anything else is a failure.
        [ "$status" -le 1 ] || { echo "failed ($status): $*" >&2; exit 1; }
        cpu=$(tail -1 "$work/time.txt" | awk '{print $1 + $2}')
        times+=("$cpu")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'
}

declare -A sp du files
for apps in 1000 4000; do
    tree="$work/tree-$apps"
    files[$apps]=$(find "$tree" -name '*.py' | wc -l)
    sp[$apps]=$(timed "$bin" diff "$tree" --only db-indexes)
    # django-upgrade rewrites in place: it runs on a copy, over every Python file (later runs read
    # the same files, rewritten or not: the same parsing work).
    rm -rf "$work/copy" && cp -r "$tree" "$work/copy"
    (cd "$work/copy" && find . -name '*.py' > "$work/files.txt")
    du[$apps]=$(cd "$work/copy" && timed xargs -a "$work/files.txt" "$venv/bin/django-upgrade" --target-version 5.2)
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
ratio_sp=$(ratio "${sp[4000]}" "${sp[1000]}")
speedup_1=$(ratio "${du[1000]}" "${sp[1000]}")
speedup_4=$(ratio "${du[4000]}" "${sp[4000]}")
cpus=$(nproc)
table="| apps | Python files | scalepatch diff --only db-indexes (CPU s) | django-upgrade, same files (CPU s) | django-upgrade / scalepatch |
|---:|---:|---:|---:|---:|
| 1,000 | ${files[1000]} | ${sp[1000]} | ${du[1000]} | ${speedup_1}x |
| 4,000 | ${files[4000]} | ${sp[4000]} | ${du[4000]} | ${speedup_4}x |

4,000 apps / 1,000 apps (scalepatch): ${ratio_sp}x (target: at most 5x). CPU time (user + sys, every
thread), median of $runs runs, $cpus CPUs."
echo "$table"

results="$root/bench/results.md"
section="<!-- indexes:start -->"
body="$section
## db-indexes on generated apps

\`bench/indexes.sh --runs $runs\` on $(date -u '+%Y-%m-%d %H:%M') UTC, scalepatch at \`$(git -C "$root" rev-parse --short HEAD)\`: each app has 3 models (the same names in every app), a views module
with 4 queries and a migration; django-upgrade $("$venv/bin/pip" show django-upgrade 2>/dev/null | awk '/^Version/ {print $2}') runs on a copy of the
same tree, every Python file. Both are CPU time, the tool's own work; the machine is shared.

$table
"
body="$body
<!-- indexes:end -->"
if [ -f "$results" ] && grep -qF "$section" "$results"; then
    python3 - "$results" "$body" <<'PY'
import sys
path, body = sys.argv[1:]
text = open(path).read()
start = text.index("<!-- indexes:start -->")
end = text.index("<!-- indexes:end -->") + len("<!-- indexes:end -->")
open(path, "w").write(text[:start] + body + text[end:])
PY
else
    printf '\n%s\n' "$body" >> "$results"
fi

fail=0
if awk -v r="$ratio_sp" 'BEGIN { exit !(r > 5) }'; then echo "FAIL: 4,000 apps took ${ratio_sp}x the 1,000-app time" >&2; fail=1; fi
if awk -v a="$speedup_1" -v b="$speedup_4" 'BEGIN { exit !(a < 3 || b < 3) }'; then echo "FAIL: less than 3x faster than django-upgrade" >&2; fail=1; fi
exit $fail
