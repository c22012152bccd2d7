"""CI issuers' signing keys (accounts/jwks.py): fetched once for every process, refreshed, rate-limited, offline."""

import json
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import jwks, oidc
from accounts.models import IssuerKeySet
from accounts.oidc import InvalidJobToken, KeysUnavailable
from tests.oidc_issuer import OIDCIssuer

DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture
def issuer(settings, db):
    jwks.clear_memo()
    with OIDCIssuer() as issuer:
        settings.BERTH_CI_ISSUERS = [issuer.config()]
        yield issuer
    jwks.clear_memo()


def another_process():
    """Act as another worker or server from here on: nothing remembered in this one."""
    jwks.clear_memo()


def age(issuer, **delta):
    """Move the cached keys' fetch (and the last fetch attempt) back in time by delta."""
    row = IssuerKeySet.objects.get(issuer=issuer.url)
    row.fetched_at -= timedelta(**delta)
    row.attempted_at -= timedelta(**delta)
    row.refetched_at = row.refetched_at and row.refetched_at - timedelta(**delta)
    row.save()


def test_keys_are_found_through_discovery_and_cached_in_the_database(issuer):
    assert oidc.verify(issuer.mint(issuer.github_claims()))

    assert issuer.requests == [DISCOVERY, "/jwks"]
    row = IssuerKeySet.objects.get(issuer=issuer.url)
    assert row.jwks == issuer.jwks() and row.fetched_at is not None and row.error == ""


def test_the_cache_serves_this_process_and_every_other_without_asking_the_issuer(issuer):
    oidc.verify(issuer.mint(issuer.github_claims()))
    oidc.verify(issuer.mint(issuer.github_claims(), alg="ES256"))
    another_process()
    oidc.verify(issuer.mint(issuer.github_claims()))

    assert issuer.jwks_requests == 1


def test_a_configured_jwks_uri_is_used_without_discovery(issuer, settings):
    settings.BERTH_CI_ISSUERS = [issuer.config(jwks_uri=issuer.url + "/jwks")]

    assert oidc.verify(issuer.mint(issuer.github_claims()))
    assert issuer.requests == ["/jwks"]


def test_keys_older_than_the_ttl_are_fetched_again(issuer, settings):
    oidc.verify(issuer.mint(issuer.github_claims()))
    age(issuer, seconds=settings.BERTH_CI_JWKS_TTL - 30)
    another_process()
    oidc.verify(issuer.mint(issuer.github_claims()))
    assert issuer.jwks_requests == 1

    age(issuer, seconds=60)
    another_process()
    oidc.verify(issuer.mint(issuer.github_claims()))
    assert issuer.jwks_requests == 2


def test_a_rotated_signing_key_is_picked_up_with_one_fetch(issuer):
    oidc.verify(issuer.mint(issuer.github_claims()))
    issuer.rotate()

    assert oidc.verify(issuer.mint(issuer.github_claims())).repository == "alice/app"
    assert oidc.verify(issuer.mint(issuer.github_claims(), alg="ES256"))
    another_process()
    assert oidc.verify(issuer.mint(issuer.github_claims()))
    assert issuer.jwks_requests == 2


def test_unknown_key_ids_fetch_at_most_once_per_interval_across_processes(issuer, settings):
    oidc.verify(issuer.mint(issuer.github_claims()))
    age(issuer, seconds=30)
    made_up = [issuer.mint(issuer.github_claims(), kid=f"made-up-{n}") for n in range(3)]

    for token in made_up:
        with pytest.raises(InvalidJobToken, match="which .* does not publish"):
            oidc.verify(token)
        another_process()
    assert issuer.jwks_requests == 2

    # A real rotation inside the interval waits for it too: the rate limit holds for every key id.
    issuer.rotate()
    rotated = issuer.mint(issuer.github_claims())
    with pytest.raises(InvalidJobToken, match="does not publish"):
        oidc.verify(rotated)
    age(issuer, seconds=settings.BERTH_CI_JWKS_REFETCH_SECONDS)
    assert oidc.verify(rotated)
    assert issuer.jwks_requests == 3


def test_keys_another_process_fetched_since_are_used_without_fetching(issuer):
    oidc.verify(issuer.mint(issuer.github_claims()))
    issuer.rotate()
    # Another worker saw the rotation first and stored the new keys.
    IssuerKeySet.objects.filter(issuer=issuer.url).update(jwks=issuer.jwks(),
                                                         fetched_at=timezone.now() + timedelta(seconds=1))

    assert oidc.verify(issuer.mint(issuer.github_claims()))
    assert issuer.jwks_requests == 1


def test_an_issuer_that_is_down_makes_keys_unavailable(issuer):
    issuer.status = 503

    with pytest.raises(KeysUnavailable) as caught:
        oidc.verify(issuer.mint(issuer.github_claims()))

    assert isinstance(caught.value, InvalidJobToken)
    assert str(caught.value) == (f"the signing keys of {issuer.url} can't be fetched: "
                                 f"{issuer.url}{DISCOVERY} answered 503; try again shortly")
    assert caught.value.retry_after > 0


def test_while_the_issuer_is_down_requests_wait_for_the_interval_not_for_the_issuer(issuer):
    issuer.status = 503
    for _ in range(3):
        with pytest.raises(KeysUnavailable, match="answered 503"):
            oidc.verify(issuer.mint(issuer.github_claims()))
        another_process()

    assert issuer.requests == [DISCOVERY]


def test_an_unreachable_issuer_makes_keys_unavailable(settings, db):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable = OIDCIssuer()
    unreachable.url = f"http://127.0.0.1:{port}"
    settings.BERTH_CI_ISSUERS = [unreachable.config()]

    with pytest.raises(KeysUnavailable, match=r"can't be reached \(\[Errno 111\] Connection refused\)"):
        oidc.verify(unreachable.mint(unreachable.github_claims()))


def test_an_issuer_that_never_answers_is_given_up_on_after_the_timeout(settings, db, monkeypatch):
    monkeypatch.setattr(jwks, "TIMEOUT", 0.3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections complete, but nothing is ever read or answered
        hanging = OIDCIssuer()
        hanging.url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings.BERTH_CI_ISSUERS = [hanging.config()]

        started = time.monotonic()
        with pytest.raises(KeysUnavailable, match="can't be reached .*timed out"):
            oidc.verify(hanging.mint(hanging.github_claims()))
    assert time.monotonic() - started < 3


def test_stale_keys_are_used_while_the_issuer_is_down(issuer, settings):
    oidc.verify(issuer.mint(issuer.github_claims()))
    age(issuer, seconds=settings.BERTH_CI_JWKS_TTL + 1)
    issuer.status = 503
    another_process()

    assert oidc.verify(issuer.mint(issuer.github_claims())).repository == "alice/app"
    assert IssuerKeySet.objects.get(issuer=issuer.url).error.endswith("answered 503")
    assert issuer.requests == [DISCOVERY, "/jwks", DISCOVERY]


def test_a_key_id_unknown_while_the_issuer_is_down_makes_keys_unavailable(issuer, settings):
    oidc.verify(issuer.mint(issuer.github_claims()))
    issuer.rotate()
    issuer.status = 503

    with pytest.raises(KeysUnavailable, match="names a key .* did not publish when last fetched"):
        oidc.verify(issuer.mint(issuer.github_claims()))


def test_a_discovery_document_naming_another_issuer_is_not_trusted(issuer, settings):
    # Trusting https://x/ while https://x/.well-known/openid-configuration says it is https://x.
    settings.BERTH_CI_ISSUERS = [issuer.config(issuer=issuer.url + "/")]

    with pytest.raises(KeysUnavailable, match=f"names the issuer '{issuer.url}', not '{issuer.url}/'"):
        oidc.verify(issuer.mint(issuer.github_claims(iss=issuer.url + "/")))


def test_an_issuer_under_a_path_is_discovered_there(settings, db):
    with OIDCIssuer(path="/api/actions") as forgejo:
        settings.BERTH_CI_ISSUERS = [forgejo.config(repository_url="https://codeberg.org/{repository}")]

        claims = oidc.verify(forgejo.mint(forgejo.github_claims(repository="bob/tool")))

    assert claims.repository_url == "https://codeberg.org/bob/tool"
    assert forgejo.requests == ["/api/actions" + DISCOVERY, "/api/actions/jwks"]


def test_keys_from_a_jwks_file_need_no_issuer_at_all(issuer, settings, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(issuer.jwks()))
    settings.BERTH_CI_ISSUERS = [issuer.config(jwks_file=str(path))]
    issuer.status = 503

    assert oidc.verify(issuer.mint(issuer.github_claims(), alg="ES256")).repository == "alice/app"
    issuer.rotate()
    with pytest.raises(InvalidJobToken, match=f"which {path} does not publish"):
        oidc.verify(issuer.mint(issuer.github_claims()))
    path.write_text(json.dumps(issuer.jwks()))
    assert oidc.verify(issuer.mint(issuer.github_claims()))
    assert issuer.requests == []


def test_a_missing_jwks_file_makes_keys_unavailable(issuer, settings, tmp_path):
    settings.BERTH_CI_ISSUERS = [issuer.config(jwks_file=str(tmp_path / "missing.json"))]

    with pytest.raises(KeysUnavailable, match="missing.json of .* can't be read"):
        oidc.verify(issuer.mint(issuer.github_claims()))


def test_this_process_remembers_the_keys_for_a_few_seconds_without_reading_the_database(
        issuer, django_assert_num_queries):
    oidc.verify(issuer.mint(issuer.github_claims()))

    with django_assert_num_queries(0):
        oidc.verify(issuer.mint(issuer.github_claims()))
