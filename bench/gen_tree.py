#!/usr/bin/env python3
"""Generates a deterministic monorepo of Django services for the discovery benchmark.

The tree has exactly --files files (default 20,000): several Django services, each with its
settings package, gunicorn/Docker/compose/nginx deployment files and many apps (models, views,
urls, admin, serializers, tests, templates, static files, a migration history); plus the bulk a
real checkout carries that discovery must skip: node_modules/, a .venv/, __pycache__/ folders and
a build/ folder, ignored through .gitignore. The same arguments always give the same bytes.

    bench/gen_tree.py OUT_DIR [--files 20000] [--services 10] [--seed 1]
"""

import argparse
import random
import shutil
from pathlib import Path

GITIGNORE = """\
__pycache__/
*.pyc
.venv/
node_modules/
build/
staticfiles/
.env
"""

# Share of the files that sit in ignored folders (node_modules, .venv, build, __pycache__).
IGNORED_SHARE = 0.25

MODEL = '''\
from django.conf import settings
from django.db import models


class {cls}(models.Model):
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, default="open")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="{app}_items")
    created_at = models.DateTimeField(auto_now_add=True)
    score = models.IntegerField(default={n})

    def __str__(self):
        return self.name


class {cls}Event(models.Model):
    item = models.ForeignKey({cls}, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
'''

VIEWS = '''\
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from .models import {cls}, {cls}Event


@login_required
def item_list(request):
    items = {cls}.objects.filter(owner=request.user, status="{status}").order_by("-created_at")[:50]
    return JsonResponse({{"items": [{{"id": i.pk, "name": i.name}} for i in items]}})


@login_required
def item_events(request, pk):
    item = get_object_or_404({cls}, pk=pk, owner=request.user)
    events = {cls}Event.objects.filter(item=item, kind=request.GET.get("kind", "update")).order_by("-created_at")
    return JsonResponse({{"events": [{{"id": e.pk, "kind": e.kind}} for e in events[:100]]}})
'''

URLS = '''\
from django.urls import path

from . import views

app_name = "{app}"
urlpatterns = [
    path("", views.item_list, name="list"),
    path("<int:pk>/events/", views.item_events, name="events"),
]
'''

ADMIN = '''\
from django.contrib import admin

from .models import {cls}

admin.site.register({cls})
'''

APPS = '''\
from django.apps import AppConfig


class {cls}Config(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "{app}"
'''

SERIALIZERS = '''\
def serialize_{app}(item):
    return {{"id": item.pk, "name": item.name, "status": item.status, "score": item.score}}
'''

TEST = '''\
from django.test import TestCase


class {cls}Test{k}(TestCase):
    def test_{k}(self):
        self.assertEqual({k} + 1, {k1})
'''

MIGRATION = '''\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [{deps}]

    operations = [
        migrations.AddField(model_name="{model}", name="extra_{k}", field=models.IntegerField(default=0)),
    ]
'''

TEMPLATE = '''\
{{% extends "base.html" %}}
{{% block content %}}
<h1>{title}</h1>
<ul>{{% for item in items %}}<li>{{{{ item.name }}}}</li>{{% endfor %}}</ul>
{{% endblock %}}
'''

SETTINGS_BASE = '''\
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-{svc}")
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
{apps}]
ROOT_URLCONF = "{svc}.urls"
WSGI_APPLICATION = "{svc}.wsgi.application"

DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DB_NAME", "{svc}"),
        "USER": os.environ.get("DB_USER", "{svc}"),
        "PASSWORD": os.environ.get("DB_PASSWORD", ""),
        "HOST": os.environ.get("DB_HOST", "localhost"),
        "PORT": "5432",
    }}
}}

CACHES = {{
    "default": {{
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
        "OPTIONS": {{"CLIENT_CLASS": "django_redis.client.DefaultClient"}},
    }}
}}

CELERY_BROKER_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
'''

DOCKERFILE = '''\
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "{workers}", "{svc}.wsgi:application"]
'''

COMPOSE = '''\
services:
  web:
    build: .
    environment:
      DJANGO_SETTINGS_MODULE: {svc}.settings.prod
    depends_on: [postgres, redis]
  worker:
    build: .
    command: celery -A {svc} worker --concurrency 4
  postgres:
    image: postgres:16
  redis:
    image: redis:7
  nginx:
    image: nginx:1.27
    volumes:
      - ./nginx/nginx.conf:/etc/nginx/nginx.conf:ro
      - ./nginx/conf.d:/etc/nginx/conf.d:ro
'''

NGINX_MAIN = '''\
user  nginx;
worker_processes  auto;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;
    sendfile        on;
    keepalive_timeout  65;
    include /etc/nginx/conf.d/*.conf;
}
'''

NGINX_SITE = '''\
upstream app {{
    server web:8000;
}}

server {{
    listen 80;
    server_name {svc}.example.com;

    location /static/ {{
        alias /app/staticfiles/;
    }}

    location / {{
        proxy_pass http://app;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }}
}}
'''

REQUIREMENTS = "Django==5.2.8\ngunicorn==23.0.0\npsycopg[binary]==3.2.12\ndjango-redis==5.4.0\nredis==5.2.1\ncelery==5.4.0\n"


class Tree:
    """Writes files under a root and counts them."""

    def __init__(self, root):
        self.root = root
        self.count = 0

    def write(self, relative, text, mode=0o644):
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        self.count += 1


def app_files(tree, base, app, rng):
    """One Django app: 23 files, plus one in __pycache__/."""
    cls = app.title().replace("_", "")
    n = rng.randint(1, 99)
    status = rng.choice(["open", "closed", "pending", "archived"])
    for name, template in [("models.py", MODEL), ("views.py", VIEWS), ("urls.py", URLS), ("admin.py", ADMIN),
                           ("apps.py", APPS), ("serializers.py", SERIALIZERS)]:
        tree.write(f"{base}/{app}/{name}", template.format(cls=cls, app=app, n=n, status=status))
    tree.write(f"{base}/{app}/__init__.py", "")
    tree.write(f"{base}/{app}/tests/__init__.py", "")
    for k in range(3):
        tree.write(f"{base}/{app}/tests/test_{k}.py", TEST.format(cls=cls, k=k, k1=k + 1))
    tree.write(f"{base}/{app}/migrations/__init__.py", "")
    previous = None
    for k in range(1, 7):
        name = f"{k:04d}_step_{k}"
        deps = f'("{app}", "{previous}")' if previous else ""
        tree.write(f"{base}/{app}/migrations/{name}.py", MIGRATION.format(deps=deps, model=cls.lower(), k=k))
        previous = name
    for page in ["list", "detail", "form"]:
        tree.write(f"{base}/{app}/templates/{app}/{page}.html", TEMPLATE.format(title=f"{cls} {page}"))
    tree.write(f"{base}/{app}/static/{app}/{app}.js", f"export const {app} = {{ id: {n} }};\n")
    tree.write(f"{base}/{app}/static/{app}/{app}.css", f".{app} {{ margin: {n % 17}px; }}\n")
    tree.write(f"{base}/{app}/__pycache__/models.cpython-311.pyc", "\0compiled\0")  # ignored


APP_FILES = 24  # 23 tracked + 1 in __pycache__/
SERVICE_FILES = 17


def service_files(tree, svc, apps, rng):
    """One service's project and deployment files: 17 files."""
    listed = "".join(f'    "{app}",\n' for app in apps)
    tree.write(f"services/{svc}/manage.py", f'import os, sys\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", '
               f'"{svc}.settings.prod")\nfrom django.core.management import execute_from_command_line\n'
               f"execute_from_command_line(sys.argv)\n", 0o755)
    tree.write(f"services/{svc}/{svc}/__init__.py", "")
    tree.write(f"services/{svc}/{svc}/settings/__init__.py", "")
    tree.write(f"services/{svc}/{svc}/settings/base.py", SETTINGS_BASE.format(svc=svc, apps=listed))
    tree.write(f"services/{svc}/{svc}/settings/prod.py", "from .base import *  # noqa\n\nDEBUG = False\n")
    tree.write(f"services/{svc}/{svc}/settings/dev.py", "from .base import *  # noqa\n\nDEBUG = True\n")
    tree.write(f"services/{svc}/{svc}/wsgi.py", "from django.core.wsgi import get_wsgi_application\n\n"
               "application = get_wsgi_application()\n")
    tree.write(f"services/{svc}/{svc}/urls.py", "from django.urls import include, path\n\nurlpatterns = [\n"
               + "".join(f'    path("{app}/", include("{app}.urls")),\n' for app in apps) + "]\n")
    tree.write(f"services/{svc}/{svc}/celery.py", f'from celery import Celery\n\napp = Celery("{svc}")\n')
    tree.write(f"services/{svc}/Dockerfile", DOCKERFILE.format(svc=svc, workers=rng.choice([2, 3, 4])))
    tree.write(f"services/{svc}/docker-compose.yml", COMPOSE.format(svc=svc))
    tree.write(f"services/{svc}/docker/entrypoint.sh", '#!/bin/sh\nset -e\npython manage.py migrate --noinput\n'
               'exec "$@"\n', 0o755)
    tree.write(f"services/{svc}/nginx/nginx.conf", NGINX_MAIN)
    tree.write(f"services/{svc}/nginx/conf.d/{svc}.conf", NGINX_SITE.format(svc=svc))
    tree.write(f"services/{svc}/requirements.txt", REQUIREMENTS)
    tree.write(f"services/{svc}/README.md", f"# {svc}\n\nOne of the generated services.\n")
    tree.write(f"services/{svc}/.dockerignore", ".venv\nnode_modules\n__pycache__\n")


def ignored_filler(tree, count, rng):
    """`count` files in the folders a checkout carries and .gitignore excludes."""
    folders = ["node_modules/{pkg}/lib/{i}.js", ".venv/lib/python3.11/site-packages/{pkg}/m{i}.py",
               "build/assets/{pkg}-{i}.js"]
    for i in range(count):
        pattern = folders[i % len(folders)]
        pkg = f"pkg{rng.randint(0, 299):03d}"
        tree.write(pattern.format(pkg=pkg, i=i), f"module.exports = {i};\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    tree = Tree(args.out)
    tree.write(".gitignore", GITIGNORE)

    ignored = int(args.files * IGNORED_SHARE)
    apps_total = (args.files - 1 - ignored - args.services * SERVICE_FILES) // APP_FILES
    for s in range(args.services):
        svc = f"svc{s:02d}"
        apps = [f"{svc}_app{a:03d}" for a in range(s, apps_total, args.services)]
        service_files(tree, svc, apps, rng)
        for app in apps:
            app_files(tree, f"services/{svc}", app, rng)
    tracked = tree.count - apps_total  # each app has one file in __pycache__/
    ignored_filler(tree, args.files - tree.count, rng)
    assert tree.count == args.files, (tree.count, args.files)
    print(f"{args.out}: {tree.count} files, {tracked} not ignored ({apps_total} apps in {args.services} services)")


if __name__ == "__main__":
    main()
