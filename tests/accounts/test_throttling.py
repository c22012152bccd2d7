"""Failed sign-ins are throttled in the database (every worker agrees), and no one can lock anyone out.

Wrong passwords on the sign-in page count per (username, address) and per address; invalid
tokens at /token and /v2/ count per address; a valid token is always accepted.
"""

import logging

import pytest
from django.test import Client

from accounts import throttling
from accounts.models import FailedLogin
from tests.accounts.helpers import errors, get_token, post_token
from tests.helpers import basic_auth

pytestmark = pytest.mark.django_db

PASSWORD = "a-good-password-1"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.BERTH_LOGIN_FAILURES_PER_USER = 3
    settings.BERTH_LOGIN_FAILURES_PER_ADDRESS = 5
    settings.BERTH_TOKEN_FAILURES_PER_ADDRESS = 4
    settings.BERTH_LOGIN_FAILURE_WINDOW = 600


@pytest.fixture
def hana(make_user, client_for):
    return client_for(make_user("hana", password=PASSWORD))


def sign_in(client: Client, username: str, password: str):
    return client.post("/login", {"username": username, "password": password})


def test_invalid_tokens_from_an_address_are_throttled_at_the_token_service(hana):
    anonymous = Client()
    for name in ("hana", "u1", "u2", "u3"):
        assert get_token(anonymous, auth=basic_auth(name, "berth_pat_" + "x" * 40)).status_code == 401
    response = get_token(anonymous, auth=basic_auth("hana", "wrong"))
    assert response.status_code == 429
    assert errors(response)[0]["code"] == "TOOMANYREQUESTS"
    assert 590 <= int(response["Retry-After"]) <= 600


def test_a_valid_token_is_accepted_while_its_address_is_throttled(hana):
    anonymous = Client()
    for _ in range(5):
        get_token(anonymous, auth=basic_auth("hana", "wrong"))
    assert get_token(anonymous, auth=basic_auth("hana", "wrong")).status_code == 429
    # Nothing to guess in 238 random bits: the right token is never refused.
    assert get_token(anonymous, auth=basic_auth("hana", hana.token)).status_code == 200
    assert anonymous.get("/v2/", HTTP_AUTHORIZATION=basic_auth("hana", hana.token)).status_code == 200
    assert post_token(anonymous, grant_type="password", username="hana", password=hana.token).status_code == 200


def test_v2_basic_auth_is_throttled_too(hana):
    anonymous = Client()
    for _ in range(4):
        assert anonymous.get("/v2/", HTTP_AUTHORIZATION=basic_auth("hana", "wrong")).status_code == 401
    response = anonymous.get("/v2/", HTTP_AUTHORIZATION=basic_auth("hana", "wrong"))
    assert response.status_code == 429
    assert errors(response)[0]["code"] == "TOOMANYREQUESTS"
    assert int(response["Retry-After"]) > 0
    assert anonymous.get("/v2/", HTTP_AUTHORIZATION=basic_auth("hana", hana.token)).status_code == 200


def test_token_throttle_is_per_address(hana):
    for _ in range(4):
        get_token(Client(), auth=basic_auth("hana", "wrong"))
    assert get_token(Client(), auth=basic_auth("hana", "wrong")).status_code == 429
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert get_token(elsewhere, auth=basic_auth("hana", "wrong")).status_code == 401


def test_failed_web_sign_ins_never_refuse_a_valid_token(hana):
    client = Client()
    for _ in range(10):
        sign_in(client, "hana", "wrong")
    assert sign_in(client, "hana", PASSWORD).status_code == 429
    # The issue: these were refused for 15 minutes from the address someone mistyped passwords at.
    assert get_token(client, auth=basic_auth("hana", hana.token)).status_code == 200
    assert post_token(client, grant_type="password", username="hana", password=hana.token).status_code == 200
    assert client.get("/v2/", HTTP_AUTHORIZATION=basic_auth("hana", hana.token)).status_code == 200
    # Nor do they count against invalid tokens.
    assert get_token(client, auth=basic_auth("hana", "wrong")).status_code == 401


def test_invalid_tokens_never_throttle_web_sign_in(hana):
    client = Client()
    for _ in range(6):
        get_token(client, auth=basic_auth("hana", "wrong"))
    assert get_token(client, auth=basic_auth("hana", "wrong")).status_code == 429
    assert sign_in(client, "hana", PASSWORD).status_code == 302


def test_login_page_is_throttled_per_username_and_address(hana):
    client = Client()
    for _ in range(3):
        assert sign_in(client, "hana", "wrong").status_code == 200
    response = sign_in(client, "hana", PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed sign-ins" in response.content.decode()
    assert sign_in(Client(REMOTE_ADDR="10.1.2.3"), "hana", PASSWORD).status_code == 302


def test_login_page_is_throttled_per_address(hana):
    client = Client()
    for name in ("u1", "u2", "u3", "u4", "u5"):
        assert sign_in(client, name, "wrong").status_code == 200
    response = sign_in(client, "hana", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert sign_in(Client(REMOTE_ADDR="10.1.2.3"), "hana", PASSWORD).status_code == 302


def test_a_successful_login_clears_the_failures(hana):
    client = Client()
    for _ in range(2):
        sign_in(client, "hana", "wrong")
    assert sign_in(client, "hana", PASSWORD).status_code == 302
    assert not FailedLogin.objects.filter(username="hana").exists()


def test_failures_expire_after_the_window(hana):
    for _ in range(4):
        get_token(Client(), auth=basic_auth("hana", "wrong"))
    assert get_token(Client(), auth=basic_auth("hana", "wrong")).status_code == 429
    FailedLogin.objects.update(created_at=FailedLogin.objects.first().created_at.replace(year=2000))
    assert get_token(Client(), auth=basic_auth("hana", "wrong")).status_code == 401


def test_failures_are_kept_in_the_database(hana):
    get_token(Client(), auth=basic_auth("nobody", "wrong"))
    sign_in(Client(), "hana", "wrong")
    kinds = set(FailedLogin.objects.values_list("kind", "username", "address"))
    assert kinds == {("token", "nobody", "127.0.0.1"), ("password", "hana", "127.0.0.1")}


def test_behind_a_trusted_proxy_failures_count_per_forwarded_address(hana, settings):
    settings.BERTH_TRUST_PROXY_HEADERS = True
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(4):
        get_token(proxy, auth=basic_auth("hana", "wrong"), HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert FailedLogin.objects.filter(address="203.0.113.7").count() == 4
    assert get_token(proxy, auth=basic_auth("hana", "wrong"), HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    response = get_token(proxy, auth=basic_auth("hana", "wrong"), HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert response.status_code == 401


def test_forwarded_addresses_are_ignored_unless_trusted(hana, settings):
    settings.BERTH_TRUST_PROXY_HEADERS = False
    get_token(Client(), auth=basic_auth("hana", "wrong"), HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert FailedLogin.objects.get().address == "127.0.0.1"


@pytest.fixture
def proxy_warnings(caplog, monkeypatch):
    """Return the proxy warnings logged so far, starting from a process that has logged none."""
    monkeypatch.setattr(throttling, "_proxy_warned_at", None)
    caplog.set_level(logging.WARNING, logger="accounts.throttling")

    def logged() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "accounts.throttling"]
    return logged


def test_untrusted_forwarded_for_logs_one_warning_saying_what_to_set(hana, settings, proxy_warnings):
    settings.BERTH_TRUST_PROXY_HEADERS = False
    client = Client(REMOTE_ADDR="10.0.0.1")
    get_token(client, auth=basic_auth("hana", hana.token))
    assert proxy_warnings() == []
    for _ in range(3):
        assert get_token(client, auth=basic_auth("hana", hana.token), HTTP_X_FORWARDED_FOR="203.0.113.7"
                         ).status_code == 200
    sign_in(client, "hana", "wrong")
    [warning] = proxy_warnings()
    assert "X-Forwarded-For" in warning and "BERTH_TRUST_PROXY_HEADERS=true" in warning
    assert "10.0.0.1" in warning


def test_the_proxy_warning_comes_again_after_its_interval(hana, settings, proxy_warnings, monkeypatch):
    settings.BERTH_TRUST_PROXY_HEADERS = False
    get_token(Client(), auth=basic_auth("hana", hana.token), HTTP_X_FORWARDED_FOR="203.0.113.7")
    monkeypatch.setattr(throttling, "_proxy_warned_at", throttling._proxy_warned_at - throttling.PROXY_WARNING_INTERVAL)
    get_token(Client(), auth=basic_auth("hana", hana.token), HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert len(proxy_warnings()) == 2


def test_no_proxy_warning_when_proxy_headers_are_trusted(hana, settings, proxy_warnings):
    settings.BERTH_TRUST_PROXY_HEADERS = True
    get_token(Client(), auth=basic_auth("hana", hana.token), HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert proxy_warnings() == []
