#!/usr/bin/env python3
"""Logs in --users seeded users (real Django sessions, stored where the project stores them) and
prints a Lua table for bench/support/mix.lua: each user's session cookie, CSRF secret, and the
conversations they take part in.

Run with the project's settings: DJANGO_SETTINGS_MODULE=wingman.settings, cwd = the project.
"""

import argparse
import secrets
import string
import sys

sys.path.insert(0, ".")

import django  # noqa: E402

django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.sessions.backends.base import SessionBase  # noqa: E402
from importlib import import_module  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.models import Conversation  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
    users = get_user_model().objects.filter(username__startswith="user").order_by("username")[: args.users]
    alphabet = string.ascii_letters + string.digits
    print("return {")
    for user in users:
        conversations = list(
            Conversation.objects.filter(participants=user).order_by("pk").values_list("pk", flat=True)[:20]
        )
        if not conversations:
            continue
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        csrf = "".join(secrets.choice(alphabet) for _ in range(32))
        ids = ", ".join(str(pk) for pk in conversations)
        print(f'  {{ session = "{session.session_key}", csrf = "{csrf}", conversations = {{ {ids} }} }},')
    print("}")


if __name__ == "__main__":
    main()
