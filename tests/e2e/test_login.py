"""docker login with personal access tokens, and who may push and pull, through the real docker CLI.

Each person gets a docker client config of their own (DOCKER_CONFIG) on the session's daemon,
so logins and logouts here never touch the owner's login other tests use.
"""

import os
import subprocess

import pytest

from tests.e2e import images

pytestmark = pytest.mark.e2e


class DockerClient:
    """The docker CLI on the session's daemon with its own client config: one person's logins."""

    def __init__(self, dockerd, config):
        config.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "DOCKER_HOST": dockerd.host, "DOCKER_CONFIG": str(config),
                    "DOCKER_BUILDKIT": "0", "DOCKER_CLI_HINTS": "false"}

    def __call__(self, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(["docker", *args], env=self.env, input=input, capture_output=True, timeout=300)
        result.output = (result.stdout + result.stderr).decode(errors="replace")
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.output}")
        return result

    def login(self, host: str, username: str, password: str, check: bool = True) -> subprocess.CompletedProcess:
        return self("login", host, "-u", username, "--password-stdin", input=password.encode(), check=check)


@pytest.fixture(scope="module")
def image(dockerd) -> str:
    """A small local image (imported from a tar) that the tests tag and push."""
    rootfs = images.tar_bytes({"etc/login-test": b"pushed by tests/e2e/test_login.py\n"})
    DockerClient(dockerd, dockerd.root / "login-image")("import", "-", "berth-e2e/login:1", input=rootfs)
    return "berth-e2e/login:1"


@pytest.fixture
def person(berth, dockerd, tmp_path):
    """Return make(username, scopes): a new Berth user with a token, and a docker client logged in as them."""
    def make(username: str, scopes: str = "write:packages", login: bool = True):
        token = berth.manage("create_token", username, "--scopes", scopes, "--create-user").strip()
        client = DockerClient(dockerd, tmp_path / username)
        client.username, client.token = username, token
        if login:
            client.login(berth.host, username, token)
        return client
    return make


def push(client, image: str, ref: str, check: bool = True) -> subprocess.CompletedProcess:
    client("tag", image, ref)
    return client("push", ref, check=check)


def pull(client, ref: str, check: bool = True) -> subprocess.CompletedProcess:
    client("rmi", ref, check=False)
    return client("pull", ref, check=check)


def test_docker_login_with_a_token_succeeds_and_with_a_wrong_one_fails(berth, person):
    client = person("login-ok", login=False)
    result = client.login(berth.host, client.username, client.token)
    assert "Login Succeeded" in result.output
    wrong = client.login(berth.host, client.username, client.token[:-4] + "zzzz", check=False)
    assert wrong.returncode != 0
    assert "401" in wrong.output or "unauthorized" in wrong.output.lower()
    password = client.login(berth.host, client.username, "not-a-token", check=False)
    assert password.returncode != 0


def test_push_needs_write_packages(berth, person, image):
    reader = person("scope-reader", scopes="read:packages")
    denied = push(reader, image, f"{berth.host}/scope-reader/app:1", check=False)
    assert denied.returncode != 0
    assert "write:packages" in denied.output
    writer = person("scope-writer", scopes="write:packages")
    assert "1: digest: sha256:" in push(writer, image, f"{berth.host}/scope-writer/app:1").output


def test_anonymous_pulls_public_packages_only(berth, person, dockerd, tmp_path, image):
    owner = person("visibility-owner")
    public, private = f"{berth.host}/visibility-owner/open:1", f"{berth.host}/visibility-owner/closed:1"
    push(owner, image, public)
    push(owner, image, private)
    berth.manage("set_visibility", "visibility-owner/open", "public")
    anonymous = DockerClient(dockerd, tmp_path / "anonymous")
    assert "Status: " in pull(anonymous, public).output  # "Downloaded newer image" or "Image is up to date"
    refused = pull(anonymous, private, check=False)
    assert refused.returncode != 0
    assert "denied" in refused.output or "unauthorized" in refused.output.lower()


def test_logout_then_pull_of_a_private_package_fails(berth, person, image):
    client = person("logout-user")
    ref = f"{berth.host}/logout-user/app:1"
    push(client, image, ref)
    pull(client, ref)
    client("logout", berth.host)
    refused = pull(client, ref, check=False)
    assert refused.returncode != 0


def test_organization_members_push_and_others_cannot(berth, person, image):
    member, outsider = person("org-member"), person("org-outsider")
    berth.manage("create_org", "e2e-org", "--owner", "org-member")
    assert "digest: sha256:" in push(member, image, f"{berth.host}/e2e-org/tool:1").output
    refused = push(outsider, image, f"{berth.host}/e2e-org/tool2:1", check=False)
    assert refused.returncode != 0
    assert "denied" in refused.output


def test_a_team_granted_read_pulls_but_does_not_push(berth, person, image):
    admin, reader = person("team-admin"), person("team-reader")
    berth.manage("create_org", "e2e-team-org", "--owner", "team-admin", "--member", "team-reader")
    ref = f"{berth.host}/e2e-team-org/secret:1"
    push(admin, image, ref)
    hidden = pull(reader, ref, check=False)  # a member without a grant sees nothing
    assert hidden.returncode != 0 and "name unknown" in hidden.output
    berth.manage("create_team", "e2e-team-org", "readers", "--member", "team-reader")
    berth.manage("grant", "e2e-team-org/secret", "read", "--team", "e2e-team-org/readers")
    pull(reader, ref)
    refused = push(reader, image, f"{berth.host}/e2e-team-org/secret:2", check=False)
    assert refused.returncode != 0
    assert "denied" in refused.output


def test_a_revoked_token_is_refused_at_once(berth, person, image):
    client = person("revoked-user")
    ref = f"{berth.host}/revoked-user/app:1"
    push(client, image, ref)
    berth.manage("revoke_token", "revoked-user", "--all")
    refused = push(client, image, f"{berth.host}/revoked-user/app:2", check=False)
    assert refused.returncode != 0 and "revoked" in refused.output
    assert pull(client, ref, check=False).returncode != 0
    assert client.login(berth.host, client.username, client.token, check=False).returncode != 0


def test_an_expired_token_is_refused_at_once(berth, person, image):
    client = person("expired-user")
    ref = f"{berth.host}/expired-user/app:1"
    push(client, image, ref)
    berth.manage("shell", "-c", "from django.utils import timezone; from accounts.models import PersonalAccessToken; "
                 "PersonalAccessToken.objects.filter(user__username='expired-user').update(expires_at=timezone.now())")
    refused = push(client, image, f"{berth.host}/expired-user/app:2", check=False)
    assert refused.returncode != 0 and "expired" in refused.output
    assert pull(client, ref, check=False).returncode != 0
