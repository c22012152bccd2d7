"""Failed sign-ins are throttled per username and address, in the database (every worker agrees)."""

import pytest
from django.test import Client

from accounts.models import FailedLogin
from tests.accounts.conftest import errors, get_token
from tests.conftest import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits(settings):
    settings.BERTH_LOGIN_FAILURES_PER_USER = 3
    settings.BERTH_LOGIN_FAILURES_PER_ADDRESS = 5
    settings.BERTH_LOGIN_FAILURE_WINDOW = 600
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hana(make_user, client_for):
    return client_for(make_user("hana", password="a-good-password-1"))


def test_token_service_throttles_after_repeated_failures(hana):
    anonymous = Client()
    for _ in range(3):
        assert get_token(anonymous, auth=basic_auth("hana", "wrong")).status_code == 401
    response = get_token(anonymous, auth=basic_auth("hana", "wrong"))
    assert response.status_code == 429
    assert errors(response)[0]["code"] == "TOOMANYREQUESTS"
    assert 590 <= int(response["Retry-After"]) <= 600
    # Even the right token waits: guessing must not go on while throttled.
    assert get_token(anonymous, auth=basic_auth("hana", hana.token)).status_code == 429


def test_v2_basic_auth_is_throttled_too(hana):
    anonymous = Client()
    for _ in range(3):
        assert anonymous.get("/v2/", HTTP_AUTHORIZATION=basic_auth("hana", "wrong")).status_code == 401
    response = anonymous.get("/v2/", HTTP_AUTHORIZATION=basic_auth("hana", hana.token))
    assert response.status_code == 429
    assert errors(response)[0]["code"] == "TOOMANYREQUESTS"
    assert int(response["Retry-After"]) > 0


def test_throttle_is_per_address(hana):
    for _ in range(3):
        get_token(Client(), auth=basic_auth("hana", "wrong"))
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert get_token(elsewhere, auth=basic_auth("hana", hana.token)).status_code == 200


def test_one_address_guessing_many_usernames_is_throttled(hana):
    anonymous = Client()
    for name in ("u1", "u2", "u3", "u4", "u5"):
        assert get_token(anonymous, auth=basic_auth(name, "wrong")).status_code == 401
    assert get_token(anonymous, auth=basic_auth("hana", hana.token)).status_code == 429


def test_failures_expire_after_the_window(hana, settings):
    for _ in range(3):
        get_token(Client(), auth=basic_auth("hana", "wrong"))
    FailedLogin.objects.update(created_at=FailedLogin.objects.first().created_at.replace(year=2000))
    assert get_token(Client(), auth=basic_auth("hana", hana.token)).status_code == 200


def test_failures_are_kept_in_the_database():
    get_token(Client(), auth=basic_auth("nobody", "wrong"))
    assert FailedLogin.objects.filter(username="nobody", address="127.0.0.1").count() == 1


def test_login_page_is_throttled(hana):
    client = Client()
    for _ in range(3):
        assert client.post("/login", {"username": "hana", "password": "wrong"}).status_code == 200
    response = client.post("/login", {"username": "hana", "password": "a-good-password-1"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed sign-ins" in response.content.decode()


def test_a_successful_login_clears_the_failures(hana):
    client = Client()
    for _ in range(2):
        client.post("/login", {"username": "hana", "password": "wrong"})
    assert client.post("/login", {"username": "hana", "password": "a-good-password-1"}).status_code == 302
    assert not FailedLogin.objects.filter(username="hana").exists()


def test_behind_a_trusted_proxy_failures_count_per_forwarded_address(hana, settings):
    settings.BERTH_TRUST_PROXY_HEADERS = True
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(3):
        get_token(proxy, auth=basic_auth("hana", "wrong"), HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert FailedLogin.objects.filter(address="203.0.113.7").count() == 3
    response = get_token(proxy, auth=basic_auth("hana", hana.token), HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert response.status_code == 200


def test_forwarded_addresses_are_ignored_unless_trusted(hana, settings):
    settings.BERTH_TRUST_PROXY_HEADERS = False
    get_token(Client(), auth=basic_auth("hana", "wrong"), HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert FailedLogin.objects.get().address == "127.0.0.1"
