"""Runs Celery's own command line on a worker's arguments and prints what the worker would start
with, as JSON: {"concurrency", "pool", "max_tasks_per_child"}.

Usage (in the project root, with the worker's environment): python celery_check.py ARGS...
where ARGS are the words after `celery` (`-A proj worker --concurrency 2 -l info`).

The real CLI parses them (`celery.bin.celery.main`, click, with its `auto_envvar_prefix`
"CELERY"), loads the app `-A` names and its configuration (Django settings, celeryconfig,
app.conf), then calls the worker command; only the command's body is replaced: instead of
starting, it builds the same `app.Worker(...)` the real command builds (for the prefork pool:
`WorkController.setup_defaults` applies `either(conf, option)` exactly as a real start does) and
prints its settings. No broker is contacted: the worker is never started. For a pool whose
library is not installed (gevent, eventlet), the Worker cannot be built: the pool and the
values `either()` resolves are printed instead.
"""

import json
import os
import sys

import click

sys.path.insert(0, os.getcwd())

from celery.bin import celery as cli  # noqa: E402
from celery.bin.worker import worker  # noqa: E402


def report(*_args, **kwargs):
    app = click.get_current_context().obj.app
    pool = kwargs.pop("pool")
    name = f"{pool.__module__}.{pool.__name__}"
    result = {"pool": name.split(".")[2]}
    if result["pool"] == "prefork":
        built = app.Worker(
            hostname=kwargs.pop("hostname"),
            pool_cls=pool,
            loglevel=kwargs.pop("loglevel"),
            logfile=kwargs.pop("logfile"),
            **{k: v for k, v in kwargs.items() if k not in ("app", "pidfile", "statedb", "uid", "gid")},
        )
        result["concurrency"] = built.concurrency
        result["max_tasks_per_child"] = built.max_tasks_per_child
    else:
        result["concurrency"] = app.either("worker_concurrency", kwargs.get("concurrency"))
        result["max_tasks_per_child"] = app.either("worker_max_tasks_per_child", kwargs.get("max_tasks_per_child"))
    print(json.dumps(result))


worker.callback = report
sys.argv = ["celery", *sys.argv[1:]]
cli.main()
