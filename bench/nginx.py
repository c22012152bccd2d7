"""Debian's nginx as a round-robin proxy over several app servers, from a temporary config.

It streams request bodies through as they arrive (proxy_request_buffering off), as a proxy in
front of a registry must: buffering a 10 GB layer to disk first would double its push time.
"""

import shutil
import subprocess
from pathlib import Path

from harness.processes import exited, stop

CONFIG = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream app {{
{servers}
        keepalive 32;
    }}
    server {{
        listen {host};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_http_version 1.1;
        location / {{
            proxy_pass http://app;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_read_timeout 900s;
            proxy_send_timeout 900s;
        }}
    }}
}}
"""


class Nginx:
    """nginx on host (127.0.0.1:port), sending each request to the next of upstreams (host:port) in turn."""

    label = "nginx"

    def __init__(self, prefix: Path, host: str, upstreams: list[str]):
        self.prefix, self.host, self.upstreams = prefix, host, upstreams
        self.url = f"http://{host}"
        self.log = prefix / "error.log"
        self.process: subprocess.Popen | None = None

    def config(self) -> str:
        servers = "\n".join(f"        server {upstream};" for upstream in self.upstreams)
        return CONFIG.format(prefix=self.prefix, host=self.host, servers=servers)

    def start(self) -> "Nginx":
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise RuntimeError("nginx is not installed: apt-get install -y nginx")
        self.prefix.mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config())
        self.process = subprocess.Popen([binary, "-c", str(conf), "-p", str(self.prefix), "-g", "daemon off;"],
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        return self

    def alive(self) -> bool:
        exited(self.process, self.log, "nginx")
        return True

    def stop(self) -> None:
        stop(self.process)
