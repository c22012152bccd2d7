"""The manifest pull fast path (registry/api/pull.py) answers exactly like the full stack, or leaves it to it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory
from django.utils import timezone

from accounts import registry_tokens
from accounts.models import PersonalAccessToken
from accounts.services import organization_create, package_visibility_set, token_revoke
from registry.api import pull
from registry.models import Manifest, Package
from registry.oci import media_types as mt
from tests.accounts.helpers import errors
from tests.registry.helpers import push_image
from tests.registry.pulls import bearer, counts, read

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_answers_remembered(monkeypatch):
    """Every test starts with no rows remembered from earlier yes answers (pull._answered)."""
    monkeypatch.setattr(pull, "_answered", {})


def warm_up(client, token) -> None:
    """Pull once, so the statements are prepared on this connection (PREPARE is a statement too).

    Then forget the answer, so the next pull is decided on the row it reads, as a first one is.
    """
    assert client.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token).status_code == 200
    pull._answered.clear()


def test_a_pull_reads_in_one_statement_and_counts_in_another(alice_client, anonymous, django_assert_num_queries):
    token = bearer(alice_client)
    warm_up(anonymous, token)
    with django_assert_num_queries(2):
        response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token)
    assert response.status_code == 200
    assert response["Docker-Content-Digest"] == alice_client.digest
    with django_assert_num_queries(1):
        assert anonymous.head("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token).status_code == 200
    assert counts() == (2, [2])


def test_public_package_with_an_anonymous_token(alice_client, anonymous, django_assert_num_queries):
    package_visibility_set(package=Package.objects.get(name="alice/app"), visibility="public")
    token = bearer(anonymous)
    warm_up(anonymous, token)
    with django_assert_num_queries(2):
        assert anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token).status_code == 200
    assert counts() == (2, [2])


def test_revoked_or_expired_token_is_refused_at_once(alice_client, anonymous):
    token = bearer(alice_client)
    assert anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token).status_code == 200
    PersonalAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token)
    assert response.status_code == 401 and "expired" in errors(response)[0]["message"]
    PersonalAccessToken.objects.update(expires_at=None)
    token_revoke(token=PersonalAccessToken.objects.get())
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token)
    assert response.status_code == 401 and "revoked" in errors(response)[0]["message"]
    assert counts() == (1, [1])


def test_disabled_user_and_deleted_package_are_refused(alice, alice_client, anonymous):
    token = bearer(alice_client)
    alice.is_active = False
    alice.save()
    assert anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token).status_code == 401
    alice.is_active = True
    alice.save()
    Package.objects.filter(name="alice/app").update(deleted_at=timezone.now())
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token)
    assert response.status_code == 404 and errors(response)[0]["code"] == "NAME_UNKNOWN"
    Package.all_objects.filter(name="alice/app").update(deleted_at=None)
    Manifest.objects.update(deleted_at=timezone.now())
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token)
    assert response.status_code == 404 and errors(response)[0]["code"] == "MANIFEST_UNKNOWN"
    assert counts() == (0, [0])


def test_use_of_the_token_is_still_recorded(alice_client, anonymous):
    token = bearer(alice_client)
    stale = timezone.now() - timedelta(minutes=5)
    PersonalAccessToken.objects.update(last_used_at=stale)
    assert anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token).status_code == 200
    assert PersonalAccessToken.objects.get().last_used_at > stale
    assert counts() == (1, [1])


def test_someone_elses_token_learns_nothing(alice_client, make_user, client_for, anonymous):
    bob = make_user("bob")
    client_for(bob)  # bob's personal access token
    bob_pat = bob.tokens.order_by("-id").first()
    forged, _, _ = registry_tokens.issue(username="bob", user_id=bob.pk, pat_id=bob_pat.pk,
                                         access={"alice/app": {"pull"}})
    PersonalAccessToken.objects.filter(pk=bob_pat.pk).update(last_used_at=timezone.now())
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 404 and errors(response)[0]["code"] == "NAME_UNKNOWN"
    assert counts() == (0, [0])


def test_organization_packages_take_the_full_stack(make_user, client_for, anonymous):
    bob = make_user("bob")
    organization_create(name="acme", owner=bob)
    client = client_for(bob)
    push_image(client, "1", name="acme/app")
    token = bearer(client, "repository:acme/app:pull")
    response = anonymous.get("/v2/acme/app/manifests/1", HTTP_AUTHORIZATION=token)
    assert response.status_code == 200
    assert counts("acme/app") == (1, [1])


def test_what_the_read_leaves_out_comes_from_the_row_not_a_default(alice_client, django_assert_num_queries):
    """Fields the fast path's read doesn't select are read when used, never taken to hold their default."""
    Package.objects.filter(name="alice/app").update(inherit_access=True)
    Manifest.objects.update(downloads=7)
    grant = registry_tokens.verify(bearer(alice_client).split()[1])
    size = len(Manifest.objects.get().raw)
    manifest, package, caller = read("alice/app", "1", grant)
    with django_assert_num_queries(0):
        assert (manifest.digest, manifest.size, manifest.media_type) == (alice_client.digest, size, mt.OCI_MANIFEST)
        assert (package.name, package.visibility, caller.user.username) == ("alice/app", "private", "alice")
    assert package.inherit_access is True
    assert manifest.downloads == 7


def test_timestamps_from_sqlite_text_are_aware():
    assert pull._datetime(None) is None
    now = timezone.now()
    assert pull._datetime(now) is now
    assert pull._datetime("2026-11-24 02:30:00.123456") == datetime(2026, 11, 24, 2, 30, 0, 123456, tzinfo=UTC)


def wsgi(method: str, path: str, **headers) -> tuple[str, dict[str, str], bytes]:
    """Call config/wsgi.py's application as gunicorn does; return status, headers and body."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from config.wsgi import application

    started = []
    environ = RequestFactory().generic(method.upper(), path, **headers).environ
    # As Django's test client does: closing "old" connections would end the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, lambda status, items: started.append((status, dict(items))))
        body = b"".join(result)
        getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started[0][0], started[0][1], body


def test_gunicorns_application_answers_pulls_with_the_security_headers(alice_client):
    token = bearer(alice_client)
    status, headers, body = wsgi("get", "/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token)
    assert status == "200 OK"
    assert headers["Docker-Content-Digest"] == alice_client.digest
    assert body == bytes(Manifest.objects.get(digest=alice_client.digest).raw)
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    status, headers, body = wsgi("head", "/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token)
    assert (status, body) == ("200 OK", b"")
    assert headers["Content-Length"] == str(len(Manifest.objects.get().raw))
    assert counts() == (1, [1])


def test_https_redirects_are_left_to_django(alice_client, settings):
    token = bearer(alice_client)
    environ = RequestFactory().get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token).environ
    settings.SECURE_SSL_REDIRECT = True
    assert pull.answer(environ) is None
    assert pull.answer({**environ, "wsgi.url_scheme": "https"}).status_code == 200
    settings.SECURE_SSL_REDIRECT = False
    assert pull.answer(environ).status_code == 200
    assert counts() == (2, [2])


def test_a_declined_pull_is_never_counted(alice_client, anonymous, django_assert_num_queries):
    from registry.models import PullCount

    token = bearer(alice_client)
    # The manifest is an OCI one; a client accepting only Docker's type gets 404 from the full stack.
    environ = RequestFactory().get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token,
                                   HTTP_ACCEPT=mt.DOCKER_MANIFEST).environ
    warm_up(anonymous, token)
    with django_assert_num_queries(1):  # the read; no count, none taken back
        assert pull.answer(environ) is None
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=token, HTTP_ACCEPT=mt.DOCKER_MANIFEST)
    assert response.status_code == 404
    assert sum(PullCount.objects.values_list("pulls", flat=True)) == 1
    assert sum(PullCount.objects.values_list("package_pulls", flat=True)) == 1
    assert counts() == (1, [1])


def test_routes_are_remembered_as_the_urlconf_resolves_them(monkeypatch):
    monkeypatch.setattr(pull, "_routes", {})
    assert pull.manifest_route("/v2/alice/app/manifests/1") == ("alice/app", "1")
    assert pull.manifest_route("/v2/alice/manifests/app/manifests/1") == ("alice/manifests/app", "1")
    # A repository named .../manifests/... asking for a blob is the blob route's.
    assert pull.manifest_route(f"/v2/alice/manifests/app/blobs/sha256:{'0' * 64}") is None
    assert pull.manifest_route("/alice/packages/container/manifests/x") is None
    assert len(pull._routes) == 4
    monkeypatch.setattr(pull, "ROUTES_LIMIT", 4)
    assert pull.manifest_route("/v2/bob/app/manifests/2") == ("bob/app", "2")
    assert len(pull._routes) == 1


def test_every_middleware_is_accounted_for():
    """A middleware added to settings.MIDDLEWARE must be added to pull.MIDDLEWARE, with the reason the
    fast path may answer manifest pulls without it, or the fast path must start running it."""
    unaccounted = [path for path in django_settings.MIDDLEWARE if path not in pull.MIDDLEWARE]
    assert not unaccounted, f"registry/api/pull.py does not say why manifest pulls may skip {unaccounted}"
    assert all(len(reason) > 30 for reason in pull.MIDDLEWARE.values())


def test_the_middleware_check_catches_a_new_one(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    with pytest.raises(AssertionError, match="GZipMiddleware"):
        test_every_middleware_is_accounted_for()


def test_berth_fast_pull_false_leaves_django_unwrapped(settings):
    import importlib

    import config.wsgi

    try:
        settings.BERTH_FAST_PULL = False
        importlib.reload(config.wsgi)
        # Outermost is always the request counter (config/metrics.py); inside it, Django or the fast path.
        assert config.wsgi.application.application is config.wsgi.django_application
        settings.BERTH_FAST_PULL = True
        importlib.reload(config.wsgi)
        assert isinstance(config.wsgi.application.application, pull.ManifestPullApp)
        assert config.wsgi.application.application.application is config.wsgi.django_application
    finally:
        settings.BERTH_FAST_PULL = True
        importlib.reload(config.wsgi)


@pytest.mark.parametrize("model, values", [
    (Manifest, {"id": 3, "package_id": 2, "digest": "sha256:" + "a" * 64, "media_type": mt.OCI_MANIFEST,
                "raw": b"{}", "size": 2}),
    (Package, {"id": 2, "name": "alice/app", "namespace": "alice", "visibility": "private"}),
])
def test_rows_are_loaded_as_from_db_loads_them(model, values):
    fields = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    expected = model.from_db("default", fields, [values[field] for field in fields])
    instance = pull.loaded(model, "default", values)
    assert type(instance) is model
    assert {k: v for k, v in vars(instance).items() if k != "_state"} == \
           {k: v for k, v in vars(expected).items() if k != "_state"}
    assert instance.get_deferred_fields() == expected.get_deferred_fields()
    assert (instance._state.adding, instance._state.db) == (False, "default")


def test_a_model_with_init_receivers_is_loaded_through_from_db():
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Package)
    try:
        package = pull.loaded(Package, "default", {"id": 2, "name": "alice/app", "namespace": "alice",
                                                   "visibility": "private"})
    finally:
        post_init.disconnect(receiver, sender=Package)
    assert seen == [package]
    assert package.name == "alice/app" and "inherit_access" in package.get_deferred_fields()
