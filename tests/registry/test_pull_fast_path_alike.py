"""With BERTH_FAST_PULL on or off, every manifest GET and HEAD gets the same answer, byte for byte.

For each situation (whose package, which token) and each request (tags, digests, Accept variants,
missing things), the answer with the fast path (registry/api/pull.py) equals the answer Django
gives alone: status, body and every header but Date, and both count the same pulls.
"""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from accounts import registry_tokens
from accounts.models import Namespace, PersonalAccessToken
from accounts.services import organization_create, package_visibility_set, token_revoke
from registry.api import pull
from registry.models import Package
from registry.oci import media_types as mt
from sources.identity import JobIdentity
from sources.models import SourceRepository
from tests.helpers import start_berth
from tests.registry.helpers import push_image
from tests.registry.pulls import answer, bearer, counts

REQUESTS = [
    ("get", "/v2/{name}/manifests/1", {"HTTP_ACCEPT": mt.OCI_MANIFEST}),
    ("get", "/v2/{name}/manifests/1", {"HTTP_ACCEPT": f"{mt.DOCKER_MANIFEST}, {mt.OCI_MANIFEST}; q=0.5"}),
    ("get", "/v2/{name}/manifests/1", {"HTTP_ACCEPT": "application/json"}),
    ("get", "/v2/{name}/manifests/1", {}),
    ("head", "/v2/{name}/manifests/1", {"HTTP_ACCEPT": mt.OCI_MANIFEST}),
    ("head", "/v2/{name}/manifests/1", {"HTTP_ACCEPT": mt.DOCKER_MANIFEST}),
    ("get", "/v2/{name}/manifests/1", {"HTTP_ACCEPT": mt.DOCKER_MANIFEST}),  # not accepted: 404
    ("get", "/v2/{name}/manifests/2", {}),  # no such tag
    ("get", "/v2/{name}/manifests/{digest}", {"HTTP_ACCEPT": mt.DOCKER_MANIFEST}),
    ("head", "/v2/{name}/manifests/{digest}", {}),
    ("get", "/v2/{name}/manifests/sha256:{zeros}", {}),
    ("get", "/v2/{name}/manifests/bad:digest", {}),
    ("get", "/v2/{name}/manifests/-bad-tag", {}),
    ("get", "/v2/alice/nothing/manifests/1", {}),
]

# The situations the fast path answers itself (for the requests the full stack answers 200).
SERVED = {"own private", "public, anonymous token", "public, someone else's token"}


def own_private(alice_client, make_user, client_for, settings):
    return "alice/app", alice_client.digest, bearer(alice_client)


def public_anonymous(alice_client, make_user, client_for, settings):
    package_visibility_set(package=Package.objects.get(name="alice/app"), visibility="public")
    from django.test import Client
    return "alice/app", alice_client.digest, bearer(Client())


def public_someone_else(alice_client, make_user, client_for, settings):
    package_visibility_set(package=Package.objects.get(name="alice/app"), visibility="public")
    return "alice/app", alice_client.digest, bearer(client_for(make_user("bob")))


def someone_elses_private(alice_client, make_user, client_for, settings):
    # A registry token granting bob pull on alice's private package: /token would never issue it.
    bob = make_user("bob")
    client_for(bob)
    pat = bob.tokens.order_by("-id").first()
    PersonalAccessToken.objects.filter(pk=pat.pk).update(last_used_at=timezone.now())
    token, _, _ = registry_tokens.issue(username="bob", user_id=bob.pk, pat_id=pat.pk, access={"alice/app": {"pull"}})
    return "alice/app", alice_client.digest, f"Bearer {token}"


def organization(alice_client, make_user, client_for, settings):
    bob = make_user("bob")
    organization_create(name="acme", owner=bob)
    client = client_for(bob)
    digest, _ = push_image(client, "1", name="acme/app")
    return "acme/app", digest, bearer(client, "repository:acme/app:pull")


def revoked(alice_client, make_user, client_for, settings):
    token = bearer(alice_client)
    token_revoke(token=PersonalAccessToken.objects.get(user__username="alice"))
    return "alice/app", alice_client.digest, token


def expired(alice_client, make_user, client_for, settings):
    token = bearer(alice_client)
    PersonalAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    return "alice/app", alice_client.digest, token


def disabled(alice_client, make_user, client_for, settings):
    token = bearer(alice_client)
    alice_client.user.is_active = False
    alice_client.user.save()
    return "alice/app", alice_client.digest, token


def stale_last_use(alice_client, make_user, client_for, settings):
    # The full stack records the use (a write) and answers; the second side finds it recorded.
    token = bearer(alice_client)
    PersonalAccessToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=5))
    return "alice/app", alice_client.digest, token


def https_redirect(alice_client, make_user, client_for, settings):
    token = bearer(alice_client)
    settings.SECURE_SSL_REDIRECT = True
    return "alice/app", alice_client.digest, token


def wrong_repository(alice_client, make_user, client_for, settings):
    return "alice/app", alice_client.digest, bearer(alice_client, "repository:alice/other:pull")


def garbage_token(alice_client, make_user, client_for, settings):
    return "alice/app", alice_client.digest, "Bearer not.a.token"


def job_bearer(*, remove: bool = False, connect: bool = True) -> str:
    """Return a Bearer registry token of a CI job of https://github.com/alice/app granting pull on alice/app.

    connect: alice/app is connected to that repository; remove: the repository is removed afterwards.
    """
    repository = SourceRepository.objects.create(namespace=Namespace.objects.get(name="alice"),
                                                 url="https://github.com/alice/app",
                                                 issuer="https://token.actions.githubusercontent.com",
                                                 claim="alice/app")
    if connect:
        Package.objects.filter(name="alice/app").update(source_repository=repository, inherit_access=True)
    job = JobIdentity(repository_id=repository.pk, repository_url=repository.url, namespace="alice",
                      issuer=repository.issuer, ref="refs/heads/main", expires_at=int(timezone.now().timestamp()) + 600)
    token, _, _ = registry_tokens.issue(username=job.username, user_id=None, pat_id=None,
                                        access={"alice/app": {"pull"}}, job=job.claims(), expires_at=job.expires_at)
    if remove:
        Package.objects.filter(name="alice/app").update(source_repository=None)
        repository.delete()
    return f"Bearer {token}"


def job_connected(alice_client, make_user, client_for, settings):
    return "alice/app", alice_client.digest, job_bearer()


def job_public(alice_client, make_user, client_for, settings):
    package_visibility_set(package=Package.objects.get(name="alice/app"), visibility="public")
    return "alice/app", alice_client.digest, job_bearer(connect=False)


def job_removed_repository(alice_client, make_user, client_for, settings):
    # Public, so anyone may pull it; the token of a removed repository is refused all the same.
    package_visibility_set(package=Package.objects.get(name="alice/app"), visibility="public")
    return "alice/app", alice_client.digest, job_bearer(remove=True)


def job_unconnected_private(alice_client, make_user, client_for, settings):
    # A grant /token would not give: the job's repository has no role on alice/app.
    return "alice/app", alice_client.digest, job_bearer(connect=False)


SITUATIONS = {
    "own private": own_private,
    "public, anonymous token": public_anonymous,
    "public, someone else's token": public_someone_else,
    "someone else's private": someone_elses_private,
    "organization": organization,
    "revoked token": revoked,
    "expired token": expired,
    "disabled user": disabled,
    "stale last use": stale_last_use,
    "https redirect": https_redirect,
    "wrong repository": wrong_repository,
    "garbage token": garbage_token,
    "CI job, connected private": job_connected,
    "CI job, public": job_public,
    "CI job, removed repository": job_removed_repository,
    "CI job, unconnected private": job_unconnected_private,
}


@pytest.fixture
def served(monkeypatch):
    """Record whether the fast path answered each request (the test clients call pull.answer)."""
    seen = []
    real = pull.answer

    def spy(environ):
        response = real(environ)
        seen.append(response is not None)
        return response

    monkeypatch.setattr(pull, "answer", spy)
    return seen


@pytest.mark.django_db
@pytest.mark.parametrize("situation", SITUATIONS)
@pytest.mark.parametrize("method,path,headers", REQUESTS)
def test_answers_like_the_full_stack(alice, alice_client, make_user, client_for, anonymous, settings, served,
                                     situation, method, path, headers):
    alice_client.user = alice
    name, digest, token = SITUATIONS[situation](alice_client, make_user, client_for, settings)
    path = path.format(name=name, digest=digest, zeros="0" * 64)
    headers = {**headers, "HTTP_AUTHORIZATION": token}
    counted = counts(name)
    settings.BERTH_FAST_PULL = True
    fast = answer(anonymous, method, path, **headers)
    fast_counted = counts(name)
    settings.BERTH_FAST_PULL = False
    full = answer(anonymous, method, path, **headers)
    assert fast == full
    # Both count a GET answered 200, neither anything else.
    pulled = int(full[0] == 200 and method == "get")
    assert fast_counted[0] - counted[0] == counts(name)[0] - fast_counted[0] == pulled
    if situation in SERVED and full[0] == 200:
        assert served[-1], "the fast path left a pull it should answer to the full stack"


class Live:
    """Just enough of Django's test client for tests.registry.helpers.push_image, over HTTP."""

    def __init__(self, url: str, auth: tuple[str, str]):
        self.url, self.auth = url, auth

    def generic(self, method, path, data, content_type, headers):
        return requests.request(method, self.url + path, data=data, auth=self.auth, timeout=30,
                                headers={"Content-Type": content_type, **headers})


@pytest.mark.slow
def test_gunicorn_answers_alike_with_and_without_the_fast_path(tmp_path_factory):
    """One database and blob folder behind two gunicorns, BERTH_FAST_PULL on and off: the same answers."""
    from tests.servers import BerthServer

    fast = start_berth(tmp_path_factory, workers=1, threads=2)
    full = BerthServer(database_url=fast.env["DATABASE_URL"], data_dir=fast.data_dir,
                       env={"BERTH_FAST_PULL": "false"}, workers=1, threads=2, migrated=True)
    try:
        full.start()
        pat = fast.manage("create_token", "alice", "--create-user", "--scopes", "write:packages").strip()
        digest, _ = push_image(Live(fast.url, ("alice", pat)), "1", name="alice/app")
        scope = {"service": fast.host, "scope": "repository:alice/app:pull"}
        token = requests.get(f"{fast.url}/token", params=scope, auth=("alice", pat), timeout=30).json()["token"]
        for method, path, headers in REQUESTS:
            path = path.format(name="alice/app", digest=digest, zeros="0" * 64)
            # The same Host to both, so challenges and links name the same server.
            sent = {"Authorization": f"Bearer {token}", "Host": fast.host}
            if "HTTP_ACCEPT" in headers:
                sent["Accept"] = headers["HTTP_ACCEPT"]
            answers = []
            for server in (fast, full):
                response = requests.request(method.upper(), server.url + path, headers=sent, timeout=30)
                answers.append((response.status_code, response.content,
                                {k: v for k, v in response.headers.items() if k != "Date"}))
            assert answers[0] == answers[1], (method, path, headers)
    finally:
        full.stop()
        fast.stop()
