"""Deployment: BERTH_HTTPS, the Content-Security-Policy, the secret key file `make run` writes,
README's production-image base, and the test run's own timing report."""

import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from config.security import CONTENT_SECURITY_POLICY
from tests.e2e import images, test_image
from tests.pgplugin import free_port
from tests.registry.helpers import OWNER, REPO, push_blob, push_image
from tests.servers import ROOT, BerthServer, exited

# Settings a developer's or the harness's environment may hold; each subprocess here sets its own.
OWN_SETTINGS = ("SECRET_KEY", "DEBUG", "DATABASE_URL", "BERTH_DATA_DIR", "BERTH_HTTPS", "BERTH_HSTS_SECONDS",
                "BERTH_HSTS_PRELOAD", "BERTH_TRUST_PROXY_HEADERS")
PASSWORD = "berth deploy test password 3"
PRINT_SECRET_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"
SIGNED_OUT_PAGES = ("/login", "/signup", "/packages")
SIGNED_IN_PAGES = ("/alice/packages", "/alice/packages/container/app", "/alice/packages/container/app/-/versions",
                   "/alice/packages/container/app/-/settings", "/settings/tokens", "/settings/tokens/new", "/orgs")


def clean_env(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in OWN_SETTINGS}
    return {**env, **settings}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def readme_commands(name: str) -> list[str]:
    """Return the command lines README.md marks with `<!-- readme-commands: name ... -->`."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- readme-commands: {name}\b[^>]*-->\n(.*?)<!-- /readme-commands -->", readme, re.S)
    assert match, f"README.md has no readme-commands block {name!r}"
    return [line.strip() for line in match.group(1).splitlines() if line.strip()]


def make_secret_key(data_dir: Path) -> str:
    """Write data_dir/secret_key with the Makefile's own recipe (what `make run` does) and return it."""
    subprocess.run(["make", "-s", "-C", str(ROOT), "secret-key", f"BERTH_DATA_DIR={data_dir}"], check=True,
                   capture_output=True, timeout=60)
    return (data_dir / "secret_key").read_text().strip()


class TestCheckDeploy:
    def test_berth_https_makes_check_deploy_pass_clean(self, tmp_path):
        env = clean_env(SECRET_KEY=secrets.token_urlsafe(50), BERTH_DATA_DIR=str(tmp_path), BERTH_HTTPS="true")
        result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "WARNINGS" not in output
        assert "no issues" in output

    def test_without_berth_https_check_deploy_warns(self, tmp_path):
        env = clean_env(SECRET_KEY=secrets.token_urlsafe(50), BERTH_DATA_DIR=str(tmp_path))
        result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
            assert check in output

    def test_hsts_preload_is_its_own_choice(self, tmp_path):
        env = clean_env(SECRET_KEY=secrets.token_urlsafe(50), BERTH_DATA_DIR=str(tmp_path), BERTH_HTTPS="true",
                        BERTH_HSTS_PRELOAD="true", BERTH_HSTS_SECONDS="600")
        script = ("from django.conf import settings as s; "
                  "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD, s.SILENCED_SYSTEM_CHECKS)")
        result = manage("shell", "-v", "0", "-c", script, env=env)
        assert result.stdout.split() == ["600", "True", "[]"], result.stderr


class HTTPSBerth(BerthServer):
    """Berth with BERTH_HTTPS: up once plain HTTP gets the redirect (which has no TLS server to follow)."""

    def ready(self) -> bool:
        exited(self.process, self.log, "gunicorn")
        try:
            requests.get(f"{self.url}/v2/", allow_redirects=False, timeout=1)
        except requests.RequestException:
            return False
        return True


@pytest.fixture(scope="module")
def https_berth(tmp_path_factory):
    """Berth under gunicorn with BERTH_HTTPS behind a (pretend) TLS proxy, on SQLite."""
    data_dir = tmp_path_factory.mktemp("https-berth")
    server = HTTPSBerth(database_url=f"sqlite:///{data_dir}/berth.sqlite3", data_dir=data_dir,
                         env={"BERTH_HTTPS": "true", "BERTH_TRUST_PROXY_HEADERS": "true"}, workers=1, threads=2)
    server.start()
    yield server
    server.stop()


class TestBehindTLS:
    def test_plain_http_is_redirected_to_https_v2_included(self, https_berth):
        for path in ("/v2/", "/login"):
            response = requests.get(https_berth.url + path, allow_redirects=False, timeout=10)
            assert response.status_code == 301
            assert response.headers["Location"] == f"https://{https_berth.host}{path}"

    def test_https_through_the_proxy_gets_hsts_and_secure_cookies(self, https_berth):
        proxied = {"X-Forwarded-Proto": "https"}
        v2 = requests.get(https_berth.url + "/v2/", headers=proxied, allow_redirects=False, timeout=10)
        assert v2.status_code == 401
        assert v2.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        https_berth.manage("shell", "-v", "0", "-c", "from accounts.services import user_create; "
                           f"user_create(username='sam', password={PASSWORD!r})")
        page = requests.get(https_berth.url + "/login", headers=proxied, allow_redirects=False, timeout=10)
        assert page.status_code == 200
        csrf = next(cookie for cookie in page.cookies if cookie.name == "csrftoken")
        assert csrf.secure
        # A Secure cookie goes only to https:// URLs, so send it by hand, as the browser would through the proxy.
        signed_in = requests.post(https_berth.url + "/login", allow_redirects=False, timeout=10, headers={
            **proxied, "Referer": f"https://{https_berth.host}/login", "Cookie": f"csrftoken={csrf.value}"},
            data={"username": "sam", "password": PASSWORD, "csrfmiddlewaretoken": csrf.value})
        assert signed_in.status_code == 302, signed_in.text[:500]
        session = next(cookie for cookie in signed_in.cookies if cookie.name == "sessionid")
        assert session.secure

    def test_docker_s_manifest_pulls_get_the_same_treatment(self, https_berth):
        """Bearer pulls answered in front of Django (registry/api/pull.py) redirect and carry HSTS too."""
        token = https_berth.manage("create_token", "rui", "--create-user", "--scopes", "write:packages").strip()
        proxied = {"X-Forwarded-Proto": "https"}
        manifest, config, layer = images.platform_image("linux", "amd64", {"hello.txt": b"hello\n"}, {})
        for blob in (config, layer):
            response = requests.post(f"{https_berth.url}/v2/rui/app/blobs/uploads/?digest={blob.digest}",
                                     data=blob.data, auth=("rui", token), timeout=30,
                                     headers={**proxied, "Content-Type": "application/octet-stream"})
            assert response.status_code == 201, response.text
        response = requests.put(f"{https_berth.url}/v2/rui/app/manifests/1.0", data=manifest.data, auth=("rui", token),
                                headers={**proxied, "Content-Type": manifest.media_type}, timeout=30)
        assert response.status_code == 201, response.text
        challenge = requests.get(f"{https_berth.url}/v2/", headers=proxied, timeout=10).headers["WWW-Authenticate"]
        assert 'realm="https://' in challenge  # what docker follows must be https:// too
        service = re.search(r'service="([^"]+)"', challenge).group(1)
        registry_token = requests.get(f"{https_berth.url}/token", headers=proxied, auth=("rui", token), timeout=10,
                                      params={"service": service, "scope": "repository:rui/app:pull"}).json()["token"]

        pull = {"Authorization": f"Bearer {registry_token}", "Accept": manifest.media_type}
        for _ in range(3):  # the first records the token's use through the full stack, then the fast path
            response = requests.get(f"{https_berth.url}/v2/rui/app/manifests/1.0", headers={**proxied, **pull},
                                    allow_redirects=False, timeout=10)
            assert response.status_code == 200
            assert response.content == manifest.data
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        plain = requests.get(f"{https_berth.url}/v2/rui/app/manifests/1.0", headers=pull, allow_redirects=False,
                             timeout=10)
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"https://{https_berth.host}/v2/rui/app/manifests/1.0"

    def test_container_healthcheck_counts_the_https_redirect_as_healthy(self, https_berth, tmp_path):
        assert healthcheck(https_berth.port) == 0
        # Still unhealthy when nothing answers, and healthy on plain HTTP's 401.
        assert healthcheck(free_port()) == 1
        data_dir = tmp_path / "plain"
        plain = BerthServer(database_url=f"sqlite:///{data_dir}/berth.sqlite3", data_dir=data_dir, workers=1,
                            threads=2).start()
        try:
            assert healthcheck(plain.port) == 0
        finally:
            plain.stop()


def healthcheck(port: int) -> int:
    """Return the exit status of the production image's HEALTHCHECK against port."""
    return subprocess.run([sys.executable, "config/healthcheck.py"], cwd=ROOT, timeout=30,
                          env={**os.environ, "PORT": str(port)}).returncode


class TestSecretKeyFile:
    def test_manage_py_reads_the_key_make_run_wrote(self, tmp_path):
        key = make_secret_key(tmp_path)
        assert len(key) >= 50
        assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # only its owner reads it
        env = clean_env(BERTH_DATA_DIR=str(tmp_path))
        result = manage("shell", "-v", "0", "-c", PRINT_SECRET_KEY, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == key
        assert make_secret_key(tmp_path) == key  # kept, not made again

    def test_the_environment_wins_over_the_file(self, tmp_path):
        make_secret_key(tmp_path)
        env = clean_env(BERTH_DATA_DIR=str(tmp_path), SECRET_KEY="from-the-environment")
        result = manage("shell", "-v", "0", "-c", PRINT_SECRET_KEY, env=env)
        assert result.stdout.strip() == "from-the-environment", result.stderr

    def test_without_key_or_file_the_error_names_both(self, tmp_path):
        result = manage("check", env=clean_env(BERTH_DATA_DIR=str(tmp_path)))
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr
        assert f"SECRET_KEY is not set and there is no key in {tmp_path / 'secret_key'}" in result.stderr


@pytest.mark.django_db
class TestContentSecurityPolicy:
    def test_pages_carry_the_policy(self, api, client):
        push_image(api, "latest", name="alice/app")
        for path in SIGNED_OUT_PAGES:
            response = client.get(path)
            assert response.status_code == 200, path
            assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        client.force_login(get_user_model().objects.get(username=OWNER))
        for path in SIGNED_IN_PAGES:
            response = client.get(path)
            assert response.status_code == 200, path
            assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path

    def test_error_pages_carry_it_too(self, client):
        response = client.get("/nobody/packages/container/nothing")
        assert response.status_code == 404
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY

    def test_a_refused_form_gets_berths_page_under_the_policy(self, db):
        response = Client(enforce_csrf_checks=True).post("/login", {"username": "sam", "password": PASSWORD})
        assert response.status_code == 403
        assert "This form was refused" in response.content.decode()
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY

    def test_under_debug_the_policy_only_reports(self, client, settings):
        settings.DEBUG = True
        response = client.get("/login")
        assert response["Content-Security-Policy-Report-Only"] == CONTENT_SECURITY_POLICY
        assert "Content-Security-Policy" not in response

    def test_api_answers_blobs_and_static_files_go_without(self, api):
        digest = push_blob(api, b"a blob\n")
        push_image(api, "latest")
        for path in (f"/v2/{REPO}/blobs/{digest}", f"/v2/{REPO}/manifests/latest", f"/v2/{REPO}/tags/list",
                     "/v2/nobody/app/tags/list", "/static/berth.css", "/static/packages_ui/copy.js"):
            response = api.get(path)
            assert "Content-Security-Policy" not in response, path

    def test_the_policy_allows_nothing_inline(self):
        assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                          "frame-ancestors 'none'"):
            assert directive in CONTENT_SECURITY_POLICY

    def test_templates_have_no_inline_script_style_or_handler(self):
        inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)
        found = [f"{path.relative_to(ROOT)}: {match.group(0)}"
                 for path in sorted((ROOT / "templates").rglob("*.html"))
                 for match in inline.finditer(path.read_text())]
        assert found == []


def test_readme_base_image_is_the_one_the_image_test_builds_on():
    """README's debootstrap recipe for a base without Docker Hub matches tests/e2e/test_image.py's."""
    debootstrap, imported, build = (shlex.split(line) for line in readme_commands("base-image"))
    assert debootstrap[0] == "debootstrap"
    assert "--variant=minbase" in debootstrap
    assert f"--include={','.join(test_image.PACKAGES)}" in debootstrap
    root = debootstrap[-2]
    assert imported[:4] == ["tar", "-C", root, "--numeric-owner"] and imported[-3:] == ["import", "-", imported[-1]]
    assert build[:2] == ["docker", "build"] and f"BASE={imported[-1]}" in build


def test_pytest_prints_the_slowest_tests(tmp_path):
    (tmp_path / "test_timed.py").write_text("import time\n\ndef test_sleeps():\n    time.sleep(0.05)\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir",
                             str(ROOT), "-p", "no:cacheprovider", str(tmp_path / "test_timed.py")],
                            cwd=ROOT, env={**os.environ, "BERTH_TEST_SQLITE": "1"}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "slowest 15 durations" in result.stdout
    assert re.search(r"\d\.\d+s call +\S*::test_sleeps", result.stdout), result.stdout[-2000:]
