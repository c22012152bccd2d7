"""Fixtures shared by every test: blobs in a temporary folder, live servers, docker."""

import pytest

from tests.helpers import OWNER, Credentials, basic_auth, start_berth
from tests.servers import Dockerd


@pytest.fixture(autouse=True)
def _blob_dir(settings, tmp_path):
    """Keep each test's blobs and uploads in its own folder."""
    settings.BERTH_DATA_DIR = tmp_path / "data"


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_loader():
    """Have every boto3 session in the test process share one loader of botocore's service models.

    A gunicorn worker makes its S3 client once; the tests make a store, and so a boto3 session,
    for every test on a fresh bucket, and each new session parsed the same JSON models again
    (~0.3 s a test). The models are read-only files; clients, sessions and buckets stay per test.
    """
    import functools

    import botocore.loaders
    import botocore.session

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", functools.cache(botocore.loaders.create_loader))
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hash passwords with MD5 in the test process, as Django's docs advise for tests.

    The default PBKDF2 costs most of a second per password on the CI machine, and fixtures that
    make a handful of users paid it in every test. Live servers (gunicorn, the image) keep the
    production hashers.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clients_go_through_the_fast_path(monkeypatch):
    """Have Django's test clients answer as config/wsgi.py does under gunicorn: the manifest pull
    fast path first, Django's handler for everything it leaves alone."""
    import django.test.client
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIRequest

    from registry.api import pull

    class Handler(django.test.client.ClientHandler):
        def __call__(self, environ):
            # BERTH_FAST_PULL=false: config/wsgi.py hands every request to Django.
            response = pull.answer(environ) if settings.BERTH_FAST_PULL else None
            if response is None:
                return super().__call__(environ)
            response.wsgi_request = WSGIRequest(environ)
            return response

    monkeypatch.setattr(django.test.client, "ClientHandler", Handler)


@pytest.fixture
def api(client, db):
    """The Django test client, for HTTP-level tests of the distribution API.

    It acts as OWNER, the user who owns every package these tests push (OWNER/...): every
    request carries Basic OWNER:<personal access token with all three scopes>.
    """
    from accounts.services import token_create, user_create

    user = user_create(username=OWNER)
    _, token = token_create(user=user, scopes=["read:packages", "write:packages", "delete:packages"],
                            note="api fixture")
    client.defaults["HTTP_AUTHORIZATION"] = basic_auth(OWNER, token)
    return client


@pytest.fixture(scope="session")
def berth(tmp_path_factory):
    """One Berth server under gunicorn for the end-to-end tests of a run."""
    server = start_berth(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dockerd():
    """A private docker daemon for the run."""
    daemon = Dockerd()
    try:
        yield daemon.start()
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def owner(berth) -> Credentials:
    """The user end-to-end tests log in and push as (to OWNER/...) on the session server.

    Its password is a personal access token with write:packages and delete:packages.
    """
    token = berth.manage("create_token", OWNER, "--scopes", "write:packages,delete:packages",
                         "--create-user", "--note", "end-to-end tests").strip()
    return Credentials(OWNER, token)
