#!/usr/bin/env python3
"""Prints, shell-quoted, the gunicorn command a project's Dockerfile runs, adapted to loopback.

What the container would run is decided by the Dockerfile: its `ENV` lines (WEB_CONCURRENCY,
GUNICORN_CMD_ARGS...) and its last `CMD` (exec or shell form). The load test runs exactly that,
with two adaptations that are the same for every variant: the venv's gunicorn binary, and
`--bind` on a loopback port instead of 0.0.0.0:8000.

    gunicorn_command.py PROJECT_DIR GUNICORN_BIN BIND   ->   env K=V ... /venv/bin/gunicorn ... 
"""

import json
import shlex
import sys
from pathlib import Path


def instructions(text):
    """(keyword, argument) pairs, with `\\` continuations joined and comments dropped."""
    logical, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    if pending:
        logical.append(pending)
    for line in logical:
        keyword, _, argument = line.partition(" ")
        yield keyword.upper(), argument.strip()


def env_pairs(argument):
    """`ENV K=V K2="v 2"` or the legacy `ENV K V`."""
    words = shlex.split(argument)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def command_words(argument):
    if argument.startswith("["):
        return json.loads(argument)
    return ["/bin/sh", "-c", argument]


def main():
    project, gunicorn, bind = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    env, cmd = {}, None
    for keyword, argument in instructions((project / "Dockerfile").read_text()):
        if keyword == "ENV":
            env.update(env_pairs(argument))
        elif keyword == "CMD":
            cmd = command_words(argument)
    if not cmd:
        sys.exit(f"{project}/Dockerfile: no CMD")
    if cmd[:2] == ["/bin/sh", "-c"]:
        cmd = shlex.split(cmd[2])
    if cmd[:1] == ["exec"]:
        cmd = cmd[1:]
    if not cmd or Path(cmd[0]).name != "gunicorn":
        sys.exit(f"{project}/Dockerfile: CMD does not run gunicorn: {cmd}")
    argv = [gunicorn]
    words = iter(cmd[1:])
    for word in words:
        if word in ("-b", "--bind"):
            next(words, None)
            continue
        if word.startswith("--bind=") or (word.startswith("-b") and len(word) > 2):
            continue
        argv.append(word)
    argv[1:1] = ["--bind", bind]
    print(" ".join(["env"] + [shlex.quote(f"{k}={v}") for k, v in env.items()] + [shlex.quote(w) for w in argv]))


if __name__ == "__main__":
    main()
