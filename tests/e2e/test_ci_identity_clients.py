"""CI jobs sign podman and containerd's ctr in with their OIDC ID token, as test_ci_identity.py does for docker.

podman asks /token with a GET and Basic ANYTHING:JOB_TOKEN; ctr with --user sends containerd's
OAuth2 form first (a POST with grant_type=password). Both must turn a job token into a registry
token for its repository, and a refused token must fail. gunicorn's access log, read from the
offset a step starts at, tells which of the two requests a client made.
"""

import contextlib
import re
import time

import pytest

from tests.e2e import ci_identity_helpers, images
from tests.e2e.ci_identity_helpers import APP, AUDIENCE, OWNER, package_row
from tests.servers import wait_until

pytestmark = pytest.mark.e2e

# The shared fixtures, bound in this module so that it gets a server of its own.
issuer, ci_berth = ci_identity_helpers.issuer, ci_identity_helpers.ci_berth

FILES = {"etc/ci-identity-clients": b"pushed by tests/e2e/test_ci_identity_clients.py\n"}
TOKEN_REQUEST = re.compile(r'"(GET|POST) /token(?:\?\S*)? HTTP/1\.1" (\d{3})')


class AccessLog:
    """The requests gunicorn logged for /token since this was made."""

    def __init__(self, server):
        self.path = server.log
        self.offset = self.path.stat().st_size

    def token_requests(self, at_least: int = 1) -> list[tuple[str, str]]:
        """Return (method, status) of each /token request logged since, in order, once at_least are."""
        # gunicorn logs a request just after answering it: a client may have exited before the line is written.
        found: list[tuple[str, str]] = []

        def logged() -> bool:
            with self.path.open("rb") as log:
                log.seek(self.offset)
                found[:] = TOKEN_REQUEST.findall(log.read().decode(errors="replace"))
            return len(found) >= at_least

        with contextlib.suppress(RuntimeError):  # fewer than at_least: the caller's assertion says what came
            wait_until(logged, timeout=5, what="/token requests in the access log")
        return found


def job_token(issuer, repository: str = "ci-owner/app", **claims) -> str:
    return issuer.mint(issuer.github_claims(repository=repository, **claims))


def refused_tokens(issuer) -> list[tuple[str, list[str]]]:
    """Return job tokens Berth must refuse, each with the phrases its refusal gives as the reason."""
    now = int(time.time())
    claims = issuer.github_claims(repository="ci-owner/app")
    return [
        (issuer.mint(claims, aud="someone-else"), ["audience", AUDIENCE]),
        (issuer.mint(claims, exp=now - 3600, iat=now - 4000, nbf=now - 4000), ["expired"]),
        (job_token(issuer, "ci-owner/unknown"), ["https://github.com/ci-owner/unknown", "not registered"]),
    ]


# podman: GET /token with Basic credentials.

@pytest.fixture(scope="module")
def podman_image(podman, tmp_path_factory) -> str:
    """A one-layer image from local files, loaded into podman's storage; return its name."""
    folder = tmp_path_factory.mktemp("ci-podman-image")
    layout = images.write_single_image_layout(folder / "layout", tag="berth-e2e/ci-podman:1", files=FILES)
    archive = folder / "image.tar"
    archive.write_bytes(images.layout_archive(layout))
    podman("load", "--input", str(archive))
    return "localhost/berth-e2e/ci-podman:1"


def podman_login(podman, host: str, token: str, auth_file, check: bool = True):
    return podman("login", "--tls-verify=false", "--authfile", str(auth_file), "-u", "ci", "--password-stdin",
                  host, input=token.encode(), check=check)


def test_podman_logs_in_with_a_job_token_pushes_a_new_package_and_pulls_it(ci_berth, issuer, podman,
                                                                           podman_image, tmp_path):
    auth_file = tmp_path / "auth.json"
    log = AccessLog(ci_berth)
    assert "Login Succeeded" in podman_login(podman, ci_berth.host, job_token(issuer), auth_file).output
    ref = f"{ci_berth.host}/{OWNER}/podman-fresh:1"
    podman("tag", podman_image, ref)
    podman("push", "--tls-verify=false", "--authfile", str(auth_file), ref)
    assert package_row(ci_berth, f"{OWNER}/podman-fresh") == {"repository": APP, "inherit_access": True}

    image_id = podman.text("image", "inspect", "--format", "{{.Id}}", ref)
    podman("rmi", ref)
    assert podman("image", "exists", ref, check=False).returncode != 0
    podman("pull", "--tls-verify=false", "--authfile", str(auth_file), ref)
    assert podman.text("image", "inspect", "--format", "{{.Id}}", ref) == image_id
    requests = log.token_requests()
    assert requests and all(request == ("GET", "200") for request in requests), requests


def test_a_refused_job_token_fails_podman_login_and_push_with_its_reason(ci_berth, issuer, podman, podman_image,
                                                                         tmp_path):
    ref = f"{ci_berth.host}/{OWNER}/podman-refused:1"
    podman("tag", podman_image, ref)
    for token, phrases in refused_tokens(issuer):
        # podman 4 login says only "invalid username/password" and logs the registry's reason at debug level.
        login = podman("--log-level=debug", "login", "--tls-verify=false", "--authfile", str(tmp_path / "auth.json"),
                       "-u", "ci", "--password-stdin", ci_berth.host, input=token.encode(), check=False)
        push = podman("push", "--tls-verify=false", "--creds", f"ci:{token}", ref, check=False)
        for result in (login, push):
            assert result.returncode != 0, result.output
            for phrase in phrases:
                assert phrase in result.output, result.output
    assert package_row(ci_berth, f"{OWNER}/podman-refused") is None


# containerd: the OAuth2 POST, with a GET with Basic credentials as its fallback on a 401.

@pytest.fixture(scope="module")
def ctr_image(containerd, tmp_path_factory) -> str:
    """A one-layer image from local files, imported into containerd; return its name."""
    folder = tmp_path_factory.mktemp("ci-ctr-image")
    layout = images.write_single_image_layout(folder / "layout", tag="1", files=FILES)
    archive = folder / "image.tar"
    archive.write_bytes(images.layout_archive(layout))
    containerd.ctr("images", "import", "--base-name", "berth-e2e/ci-ctr", "--snapshotter", "native", str(archive))
    return "berth-e2e/ci-ctr:1"


def ctr_push(containerd, image: str, ref: str, token: str, check: bool = True):
    containerd.ctr("images", "tag", "--force", image, ref)
    return containerd.ctr("images", "push", "--plain-http", "--user", f"ci:{token}", ref, check=check)


def ctr_pull(containerd, ref: str, token: str, namespace: str, check: bool = True):
    return containerd.ctr("images", "pull", "--plain-http", "--snapshotter", "native", "--user", f"ci:{token}",
                          ref, namespace=namespace, check=check)


def test_ctr_pushes_a_new_package_and_pulls_it_with_a_job_token_through_the_oauth2_post(ci_berth, issuer,
                                                                                        containerd, ctr_image):
    ref = f"{ci_berth.host}/{OWNER}/ctr-fresh:1"
    log = AccessLog(ci_berth)
    ctr_push(containerd, ctr_image, ref, job_token(issuer))
    assert package_row(ci_berth, f"{OWNER}/ctr-fresh") == {"repository": APP, "inherit_access": True}

    # A namespace of its own holds no content yet: the pull must fetch every blob with the job's token.
    ctr_pull(containerd, ref, job_token(issuer), "berth-ci-job")
    assert ref in containerd.ctr("images", "ls", "-q", namespace="berth-ci-job").output
    requests = log.token_requests()
    assert requests and all(request == ("POST", "200") for request in requests), requests


def test_ctr_with_a_refused_job_token_fails(ci_berth, issuer, containerd, ctr_image):
    # containerd 1.6 reports only the status of a refused token request, never its body (not even with
    # --debug), so the reason can't be read from ctr; tests/accounts/test_job_login.py checks the POST's
    # error_description.
    for number, (token, _) in enumerate(refused_tokens(issuer)):
        log = AccessLog(ci_berth)
        result = ctr_push(containerd, ctr_image, f"{ci_berth.host}/{OWNER}/ctr-refused-{number}:1", token,
                          check=False)
        assert result.returncode != 0, result.output
        assert "401 Unauthorized" in result.output, result.output
        # containerd's POST was refused, and so was the GET it falls back to on a 401.
        requests = log.token_requests(at_least=2)
        assert requests == [("POST", "401"), ("GET", "401")], requests
        assert package_row(ci_berth, f"{OWNER}/ctr-refused-{number}") is None
