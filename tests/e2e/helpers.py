"""Helpers the tests of this package import (conftest.py keeps only fixtures)."""

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.servers import require_tool

CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryHTTP:
    """requests against Berth's /v2/ as the owner, answering Basic or Bearer challenges like docker does."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base_url, self.auth = base_url, (username, password)
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        url = self.base_url + path
        headers = dict(kwargs.pop("headers", {}))
        response = self.session.request(method, url, headers=headers, timeout=60, **kwargs)
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code != 401 or not challenge:
            return response
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            return self.session.request(method, url, headers=headers, auth=self.auth, timeout=60, **kwargs)
        fields = dict(CHALLENGE_PARAM.findall(params))
        query = {k: v for k, v in fields.items() if k in ("service", "scope")}
        answer = self.session.get(urljoin(url, fields["realm"]), params=query, auth=self.auth, timeout=60)
        answer.raise_for_status()
        token = answer.json().get("token") or answer.json()["access_token"]
        headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, url, headers=headers, timeout=60, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def __enter__(self) -> "RegistryHTTP":
        return self

    def __exit__(self, *exc_info) -> None:
        # An open keep-alive connection would hold up the server's graceful shutdown.
        self.session.close()


class Skopeo:
    """The skopeo CLI with no system policy or stored logins in the way."""

    def __init__(self, root: Path, creds: str):
        self.path = require_tool("skopeo")
        self.creds = creds
        self.auth_file = root / "auth.json"
        self.auth_file.write_text("{}")
        self.tmp = root / "tmp"
        self.tmp.mkdir()

    def __call__(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        env = {**os.environ, "REGISTRY_AUTH_FILE": str(self.auth_file), "TMPDIR": str(self.tmp)}
        result = subprocess.run([self.path, "--insecure-policy", *args], env=env, capture_output=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"skopeo {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout.decode(errors='replace')}\n{result.stderr.decode(errors='replace')}")
        return result

    def json(self, *args: str) -> dict:
        return json.loads(self(*args).stdout)


class ContainerTool:
    """podman or buildah as root on their own vfs storage, logins and temporary folder under root."""

    def __init__(self, name: str, root: Path, *options: str):
        self.name, self.root = name, root
        self.path = require_tool(name)
        if os.geteuid() != 0:
            pytest.skip(f"{name} needs root here: rootless storage needs subordinate user ids")
        self.auth_file = root / "auth.json"
        self.auth_file.write_text("{}")
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        self.options = ["--root", str(root / "storage"), "--runroot", str(root / "run"), "--storage-driver", "vfs",
                        *options]

    def __call__(self, *args: str, check: bool = True, input: bytes | None = None,
                 timeout: float = 600) -> subprocess.CompletedProcess:
        # REGISTRY_AUTH_FILE keeps logins out of /run/containers/0/auth.json, which other runs share.
        env = {**os.environ, "REGISTRY_AUTH_FILE": str(self.auth_file), "TMPDIR": str(self.tmp)}
        result = subprocess.run([self.path, *self.options, *args], env=env, input=input, capture_output=True,
                                timeout=timeout)
        result.output = (result.stdout + result.stderr).decode(errors="replace")
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name} {' '.join(args)} failed ({result.returncode}):\n{result.output}")
        return result

    def text(self, *args: str) -> str:
        return self(*args).stdout.decode().strip()


@dataclass(frozen=True)
class LocalImage:
    """An image in the session's dockerd: its local name, image ID, labels and the files it adds."""

    ref: str
    id: str
    labels: dict[str, str]
    files: dict[str, bytes]


def inspect(docker, ref: str, template: str) -> str:
    return docker.docker("image", "inspect", "--format", template, ref).stdout.decode().strip()


APP_LABELS = {
    "org.opencontainers.image.description": "Berth end-to-end test application",
    "org.opencontainers.image.licenses": "Apache-2.0",
    "org.opencontainers.image.source": "https://example.com/berth/e2e-app",
}
