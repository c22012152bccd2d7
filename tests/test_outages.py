"""Database and blob storage failures answered 503 with Retry-After (registry/api/errors.py, config/outages.py).

These simulate the failures with monkeypatch; tests/e2e/test_outages.py stops the real servers.
"""

import errno
import logging
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError
from django.db.backends.utils import CursorWrapper
from django.db.utils import load_backend
from django.test import Client, RequestFactory

from accounts.services import token_create
from config.outages import server_error
from registry.api import pull
from registry.api.errors import unavailable
from registry.storage import get_store
from tests.registry.helpers import REPO, error, push_image, sha256

pytestmark = pytest.mark.django_db

DOWN = OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused\n'
                        "\tIs the server running on that host and accepting TCP/IP connections?")


@pytest.fixture
def database_down():
    """Return a function that makes every query fail from then on, as while PostgreSQL is stopped."""
    def refuse(self, *args, **kwargs):
        raise DOWN

    with pytest.MonkeyPatch.context() as patch:
        yield lambda: (patch.setattr(CursorWrapper, "execute", refuse),
                       patch.setattr(CursorWrapper, "executemany", refuse))


def unavailable_json(response) -> str:
    """Assert the spec's UNAVAILABLE error with Retry-After; return its message."""
    first = error(response, 503, "UNAVAILABLE")
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "10"
    assert "retry in 10 seconds" in first["message"]
    return first["message"]


def s3_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "GetObject")


@pytest.mark.parametrize("exc, outage", [
    (DOWN, True),
    (InterfaceError("connection already closed"), True),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:9000/bucket"), True),
    (ConnectTimeoutError(endpoint_url="http://127.0.0.1:9000/bucket"), True),
    (ReadTimeoutError(endpoint_url="http://127.0.0.1:9000/bucket"), True),
    (s3_error("SlowDown", 503), True),
    (s3_error("ServiceUnavailable", 503), True),
    (s3_error("InternalError", 500), True),
    (s3_error("RequestTimeout", 400), True),
    (s3_error("BadGateway", 502), True),
    (s3_error("AccessDenied", 403), False),
    (s3_error("NoSuchKey", 404), False),
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (OSError(errno.EIO, "Input/output error"), True),
    (FileNotFoundError(errno.ENOENT, "No such file or directory"), False),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), False),
    (ValueError("a bug"), False),
])
def test_what_counts_as_an_outage(exc, outage):
    assert (unavailable(exc) is not None) is outage


def test_an_outage_behind_another_exception_counts(settings):
    settings.BERTH_RETRY_AFTER = 3
    try:
        try:
            raise DOWN
        except OperationalError as cause:
            raise RuntimeError("while saving the upload") from cause
    except RuntimeError as exc:
        found = unavailable(exc)
    assert found.code == "UNAVAILABLE" and found.status == 503
    assert found.headers == {"Retry-After": "3"}
    assert found.message.startswith("Berth's database is unavailable; retry in 3 seconds")


def test_registry_api_answers_503_json_while_the_database_is_down(api, database_down, caplog):
    digest, _ = push_image(api, "v1")
    bearer = "Bearer " + api.get("/token?scope=repository:alice/app:pull").json()["token"]
    caplog.set_level(logging.INFO)
    database_down()
    for path in ("/v2/", "/v2/_catalog", f"/v2/{REPO}/tags/list", f"/v2/{REPO}/manifests/v1",
                 f"/v2/{REPO}/manifests/{digest}", f"/v2/{REPO}/blobs/{sha256(b'layer')}"):
        assert "database is unavailable" in unavailable_json(api.get(path))
    # The manifest fast path leaves the failure to the full stack, which answers the same.
    unavailable_json(api.get(f"/v2/{REPO}/manifests/v1", HTTP_AUTHORIZATION=bearer))
    unavailable_json(api.post(f"/v2/{REPO}/blobs/uploads/"))
    # One warning line per failed request, no error records and no tracebacks.
    outages = [r for r in caplog.records if "503 for" in r.getMessage()]
    assert len(outages) == 8
    assert all(r.levelno == logging.WARNING and r.exc_info is None and "\n" not in r.getMessage()
               for r in outages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_token_endpoint_answers_503_json_while_the_database_is_down(api, database_down):
    _, token = token_create(user=get_user_model().objects.get(username="alice"), scopes=["read:packages"])
    database_down()
    unavailable_json(api.get("/token?scope=repository:alice/app:pull"))
    # The OAuth2 form containerd sends, with RFC 6749's error beside the spec's.
    response = Client().post("/token", {"grant_type": "password", "username": "alice", "password": token,
                                        "service": "berth", "scope": "repository:alice/app:pull"})
    assert response.status_code == 503 and response["Retry-After"] == "10"
    document = response.json()
    assert document["errors"][0]["code"] == "UNAVAILABLE"
    assert document["error"] == "temporarily_unavailable"
    assert document["error_description"] == document["errors"][0]["message"]


def test_pages_answer_the_plain_503_page_while_the_database_is_down(api, database_down):
    push_image(api, "v1")
    database_down()
    for path in ("/packages", "/alice/packages/container/app"):
        response = Client().get(path)
        assert response.status_code == 503, (path, response.content[:300])
        assert response["Content-Type"].startswith("text/html")
        assert response["Retry-After"] == "10"
        assert "Berth is unavailable for a moment" in response.content.decode()


def test_an_outage_in_a_middleware_is_a_503_too(db):
    """handler500 sees what Django turned into a 500 inside a middleware (sessions, authentication)."""
    factory = RequestFactory()
    try:
        raise DOWN
    except OperationalError:
        api = server_error(factory.get("/v2/alice/app/tags/list"))
        token = server_error(factory.get("/token"))
        page = server_error(factory.get("/packages"))
    unavailable_json(api)
    unavailable_json(token)
    assert page.status_code == 503 and page["Retry-After"] == "10"
    assert "Berth is unavailable for a moment" in page.content.decode()
    try:
        raise ValueError("a bug")
    except ValueError:
        bug = server_error(factory.get("/packages"))
    assert bug.status_code == 500
    assert "Something went wrong on our side" in bug.content.decode()


def test_a_signed_in_visitor_whose_session_cannot_be_read_gets_the_503_page(api, database_down):
    browser = Client(raise_request_exception=False)
    browser.force_login(get_user_model().objects.get(username="alice"))
    database_down()
    response = browser.get("/settings/tokens")
    assert response.status_code == 503
    assert "Berth is unavailable for a moment" in response.content.decode()


def test_the_503_page_needs_no_context_nor_database(django_assert_num_queries):
    from django.template import loader

    with django_assert_num_queries(0):
        page = loader.get_template("503.html").render()
    assert "/static/berth.css" in page


@pytest.mark.parametrize("failure", [
    s3_error("SlowDown", 503),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:9000/bucket"),
    OSError(errno.EIO, "Input/output error"),
])
def test_blob_storage_failure_on_a_pull_is_503_json(api, monkeypatch, failure):
    push_image(api, "v1")

    def fail(self, *args, **kwargs):
        raise failure

    monkeypatch.setattr(type(get_store()), "open", fail)
    assert "blob storage" in unavailable_json(api.get(f"/v2/{REPO}/blobs/{sha256(b'layer')}"))


def test_a_full_disk_on_a_push_is_503_json(api, monkeypatch):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(get_store()), "writer", full)
    data = b"a layer the disk has no room for"
    response = api.generic("POST", f"/v2/{REPO}/blobs/uploads/?digest={sha256(data)}", data,
                           content_type="application/octet-stream")
    assert "blob storage is full" in unavailable_json(response)
    response = api.get(f"/v2/{REPO}/blobs/{sha256(data)}")
    assert response.status_code == 404


def test_s3_access_denied_is_not_an_outage(api, monkeypatch):
    push_image(api, "v1")

    def deny(self, *args, **kwargs):
        raise s3_error("AccessDenied", 403)

    monkeypatch.setattr(type(get_store()), "open", deny)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=api.defaults["HTTP_AUTHORIZATION"])
    assert client.get(f"/v2/{REPO}/blobs/{sha256(b'layer')}").status_code == 500



@pytest.mark.postgresql
def test_an_unreachable_database_fails_within_the_connect_timeout(settings):
    """A server that takes the connection and never answers (a hung host, a dead proxy) is an outage too."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts connections into the backlog; nothing ever answers them
        params = {**settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": silent.getsockname()[1]}
        wrapper = load_backend(params["ENGINE"]).DatabaseWrapper(params, alias="silent")
        failures = []

        def connect():
            try:
                wrapper.ensure_connection()
            except OperationalError as error:
                failures.append(error)

        started = time.monotonic()
        attempt = threading.Thread(target=connect, daemon=True)
        attempt.start()
        attempt.join(timeout=20)
        assert not attempt.is_alive(), "connecting to a silent server hangs"
        assert failures and unavailable(failures[0]) is not None
        assert time.monotonic() - started < 10


@pytest.mark.postgresql
def test_the_fast_path_spends_no_round_trip_on_a_health_check(api, monkeypatch, django_assert_num_queries):
    """A broken connection fails its one statement instead, and the full stack answers on a new one."""
    from django.db import connection

    push_image(api, "v1")
    bearer = "Bearer " + api.get("/token?scope=repository:alice/app:pull").json()["token"]
    api.get(f"/v2/{REPO}/manifests/v1", HTTP_AUTHORIZATION=bearer)  # prepares the statements
    # Forget that answer, so the next pull is read and then counted, as a first one is.
    monkeypatch.setattr(pull, "_answered", {})
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    connection.health_check_enabled, connection.health_check_done = True, False
    with django_assert_num_queries(2):  # the fast path's read and count: the full stack takes several
        response = api.get(f"/v2/{REPO}/manifests/v1", HTTP_AUTHORIZATION=bearer)
    assert response.status_code == 200
    assert checks == []
