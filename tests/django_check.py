"""Imports a patched fixture's settings with real Django and checks what the plan intended.

Usage: python django_check.py <project root> <django_check.json>

The JSON names the settings module, the environment to set, files to copy into place first (as
a Dockerfile's `COPY deploy/settings_prod.py app/settings/local.py` does in the image), and the
expected values:
  {"settings": "proj.settings", "env": {"DATABASE_URL": "postgres://..."},
   "databases": {"default": {"CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": true}},
   "caches": {"default": {"SOCKET_TIMEOUT": 5, ...}}}
Databases are read through django.db.connections.settings (Django fills its own defaults there,
so a missing key shows up as Django's default). Cache OPTIONS are compared key by key and then
handed to a real redis-py connection pool, and a connection object is built from it (no server
is contacted): a key redis-py does not accept raises TypeError here, as it would in production.
"""

import json
import os
import shutil
import sys


def main():
    root, spec_path = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with open(spec_path) as f:
        spec = json.load(f)
    sys.path.insert(0, root)
    os.chdir(root)
    for source, destination in spec.get("copy", {}).items():
        shutil.copyfile(source, destination)
    os.environ.update(spec.get("env", {}))
    os.environ["DJANGO_SETTINGS_MODULE"] = spec["settings"]

    from django.conf import settings
    from django.db import connections

    failures = []
    for alias, expected in spec.get("databases", {}).items():
        resolved = connections.settings[alias]
        for key, value in expected.items():
            if resolved.get(key) != value:
                failures.append(f"DATABASES[{alias!r}][{key!r}] = {resolved.get(key)!r}, expected {value!r}")

    for alias, expected in spec.get("caches", {}).items():
        config = settings.CACHES[alias]
        options = config.get("OPTIONS", {})
        for key, value in expected.items():
            if options.get(key) != value:
                failures.append(f"CACHES[{alias!r}]['OPTIONS'][{key!r}] = {options.get(key)!r}, expected {value!r}")
        location = config["LOCATION"]
        location = location[0] if isinstance(location, (list, tuple)) else location.split(",")[0].split(";")[0]
        import redis

        from django.utils.module_loading import import_string

        try:
            backend = import_string(config["BACKEND"])  # a project subclass is judged by its bases
        except ImportError as error:
            if config["BACKEND"].startswith("redis_cache."):
                # django-redis-cache pins redis<4, which conflicts with tests/requirements.txt: on a
                # machine without it (pip install --no-deps django-redis-cache) only OPTIONS are checked.
                print(f"CACHES[{alias!r}]: django-redis-cache not installed ({error}): OPTIONS checked only")
                continue
            raise
        bases = {f"{c.__module__}.{c.__qualname__}" for c in backend.__mro__}
        if "django_redis.cache.RedisCache" in bases:
            from django_redis.pool import ConnectionFactory

            factory = ConnectionFactory(options)
            pool = factory.get_connection_pool(factory.make_connection_params(location))
        elif "django.core.cache.backends.redis.RedisCache" in bases:
            from django.core.cache import caches

            caches[alias]  # Django's own construction of the backend
            pool_options = {k: v for k, v in options.items() if k not in ("pool_class", "parser_class", "serializer")}
            pool = redis.ConnectionPool.from_url(location, **pool_options)
        elif "redis_cache.backends.base.BaseRedisCache" in bases:
            # django-redis-cache builds its client and pool itself (no server contacted).
            from django.core.cache import caches

            pool = caches[alias].get_client("k", write=True).connection_pool
        else:
            failures.append(f"CACHES[{alias!r}]: not a Redis backend: {config['BACKEND']}")
            continue
        pool.make_connection()  # the connection constructor receives every kwarg: TypeError if one is unknown
        print(f"CACHES[{alias!r}]: pool max_connections={pool.max_connections}, kwargs={sorted(pool.connection_kwargs)}")

    for failure in failures:
        print(failure, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
