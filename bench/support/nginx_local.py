#!/usr/bin/env python3
"""Copies a project's nginx config (nginx/nginx.conf and nginx/conf.d/*.conf) into OUT_DIR,
adapted to run on this machine on loopback.

The adaptations are the ones docker-compose would make, and the same for every variant: the
compose hostname `web` becomes the loopback gunicorn address, `listen 80` a loopback port,
`/app/staticfiles/` the variant's collected static files, and paths for logs, the pid file and
conf.d point into OUT_DIR. The directives the patches change are left exactly as they are.

    nginx_local.py PROJECT_DIR OUT_DIR APP_ADDRESS LISTEN_ADDRESS
"""

import re
import sys
from pathlib import Path


def main():
    project, out, app, listen = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    (out / "conf.d").mkdir(parents=True, exist_ok=True)
    main_conf = (project / "nginx/nginx.conf").read_text()
    main_conf = re.sub(r"^\s*user\s+[^;]*;\n", "", main_conf, flags=re.M)  # root master: workers run as nobody
    main_conf = re.sub(r"error_log\s+\S+", f"error_log {out}/error.log", main_conf)
    main_conf = re.sub(r"access_log\s+/\S+", f"access_log {out}/access.log", main_conf)
    main_conf = re.sub(r"^(\s*)pid\s+[^;]*;", rf"\1pid {out}/nginx.pid;", main_conf, flags=re.M)
    main_conf = main_conf.replace("/etc/nginx/conf.d/", f"{out}/conf.d/")
    (out / "nginx.conf").write_text(main_conf)
    for site in sorted((project / "nginx/conf.d").glob("*.conf")):
        text = site.read_text()
        text = re.sub(r"\bserver\s+web:8000", f"server {app}", text)
        text = re.sub(r"proxy_pass\s+http://web:8000", f"proxy_pass http://{app}", text)
        text = re.sub(r"\blisten\s+80\b", f"listen {listen}", text)
        text = text.replace("/app/staticfiles/", f"{project}/staticfiles/")
        (out / "conf.d" / site.name).write_text(text)


if __name__ == "__main__":
    main()
