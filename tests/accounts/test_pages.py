"""The account pages: sign up, log in and out, password change, and personal access tokens."""

import re

import pytest
from django.test import Client

from accounts import tokens
from accounts.models import Namespace, PersonalAccessToken
from accounts.services import organization_create, token_create
from tests.accounts.helpers import get_token, granted
from tests.helpers import basic_auth

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


@pytest.fixture
def dana(make_user):
    return make_user("dana", password=PASSWORD)


@pytest.fixture
def browser(dana) -> Client:
    client = Client()
    client.force_login(dana)
    return client


def new_token(browser, **fields) -> str:
    data = {"note": "ci", "scopes": ["write:packages"], "expiration": "30", **fields}
    response = browser.post("/settings/tokens/new", data)
    assert response.status_code == 200, response.content.decode()
    return re.search(r"berth_pat_[A-Za-z0-9]{40}", response.content.decode()).group(0)


class TestTokenPages:
    def test_pages_need_a_login(self):
        for path in ("/settings/tokens", "/settings/tokens/new"):
            response = Client().get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/login?next=")

    @pytest.mark.parametrize("query, selected", [
        ("scopes=write:packages", {"write:packages"}),
        ("scopes=read:packages", {"read:packages"}),
        ("scopes=write:packages,delete:packages", {"write:packages", "delete:packages"}),
        ("scopes=delete:packages&scopes=read:packages", {"read:packages", "delete:packages"}),
        ("scopes=nonsense,read:packages", {"read:packages"}),
        ("", set()),
    ])
    def test_new_token_page_preselects_scopes_from_the_query(self, browser, query, selected):
        page = browser.get(f"/settings/tokens/new?{query}").content.decode()
        checked = set(re.findall(r'<input type="checkbox" name="scopes" value="([^"]+)"[^>]*checked', page))
        assert checked == selected

    def test_create_shows_the_token_once_and_stores_only_its_hash(self, browser, dana):
        value = new_token(browser, note="deploy", scopes=["write:packages"])
        pat = PersonalAccessToken.objects.get(user=dana)
        assert pat.note == "deploy"
        assert pat.scopes == ["read:packages", "write:packages"]  # write implies read
        assert pat.token_hash == tokens.hash_token(value)
        row = PersonalAccessToken.objects.filter(pk=pat.pk).values().get()
        assert not any(value in str(field) for field in row.values())
        assert value[10:] not in str(row)
        listing = browser.get("/settings/tokens").content.decode()
        assert "deploy" in listing and pat.hint in listing
        assert value not in listing
        assert "write:packages" in listing

    def test_created_token_logs_in(self, browser):
        value = new_token(browser)
        response = get_token(Client(), "repository:dana/app:push", auth=basic_auth("dana", value))
        assert granted(response) == {"dana/app": ["push"]}

    @pytest.mark.parametrize("expiration, days", [("7", 7), ("30", 30), ("60", 60), ("90", 90)])
    def test_expiration_choices(self, browser, dana, expiration, days):
        new_token(browser, expiration=expiration)
        pat = PersonalAccessToken.objects.get(user=dana)
        assert round((pat.expires_at - pat.created_at).total_seconds() / 86400) == days

    def test_expiration_on_a_date_and_never(self, browser, dana):
        new_token(browser, expiration="custom", expires_on="2099-01-02")
        assert PersonalAccessToken.objects.get(user=dana).expires_at.date().isoformat() == "2099-01-02"
        PersonalAccessToken.objects.all().delete()
        new_token(browser, expiration="none")
        assert PersonalAccessToken.objects.get(user=dana).expires_at is None
        assert "never" in browser.get("/settings/tokens").content.decode()

    def test_form_errors_are_explained(self, browser, dana):
        response = browser.post("/settings/tokens/new", {"note": "x", "expiration": "custom",
                                                         "expires_on": "2001-01-01"})
        assert response.status_code == 400
        page = response.content.decode()
        assert "Choose at least one scope." in page and "Pick a date after today." in page
        assert not PersonalAccessToken.objects.exists()

    def test_revoke(self, browser, dana):
        value = new_token(browser)
        pat = PersonalAccessToken.objects.get(user=dana)
        response = browser.post(f"/settings/tokens/{pat.pk}/revoke")
        assert response.status_code == 302
        pat.refresh_from_db()
        assert pat.revoked_at is not None
        assert get_token(Client(), auth=basic_auth("dana", value)).status_code == 401
        assert "revoked" in browser.get("/settings/tokens").content.decode()

    def test_nobody_revokes_someone_elses_token(self, browser, make_user):
        other, _ = token_create(user=make_user("erin"), scopes=["read:packages"])
        assert browser.post(f"/settings/tokens/{other.pk}/revoke").status_code == 404
        other.refresh_from_db()
        assert other.revoked_at is None

    def test_revoke_needs_post(self, browser, dana):
        new_token(browser)
        pat = PersonalAccessToken.objects.get(user=dana)
        assert browser.get(f"/settings/tokens/{pat.pk}/revoke").status_code == 405


class TestSignUpAndLogIn:
    def test_sign_up_claims_the_namespace_and_logs_in(self):
        client = Client()
        response = client.post("/signup", {"username": "frank", "email": "f@example.com",
                                           "password1": PASSWORD, "password2": PASSWORD})
        assert response.status_code == 302
        assert Namespace.objects.get(name="frank").user.username == "frank"
        assert client.get("/settings/tokens").status_code == 200

    @pytest.mark.parametrize("username", ["Frank", "fr ank", "-frank", "settings"])
    def test_names_must_fit_image_names(self, username):
        response = Client().post("/signup", {"username": username, "password1": PASSWORD,
                                             "password2": PASSWORD})
        assert response.status_code == 400
        assert not Namespace.objects.filter(name=username.lower()).exists()

    def test_users_and_organizations_share_names(self, dana):
        organization_create(name="acme", owner=dana)
        response = Client().post("/signup", {"username": "acme", "password1": PASSWORD, "password2": PASSWORD})
        assert response.status_code == 400
        assert "already taken" in response.content.decode()

    def test_sign_up_can_be_switched_off(self, settings):
        settings.BERTH_ALLOW_SIGNUP = False
        response = Client().post("/signup", {"username": "gina", "password1": PASSWORD, "password2": PASSWORD})
        assert response.status_code == 403
        assert "administrator" in response.content.decode()
        assert not Namespace.objects.filter(name="gina").exists()

    def test_log_in_and_out(self, dana):
        client = Client()
        response = client.post("/login", {"username": "dana", "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/settings/tokens"
        assert client.get("/settings/tokens").status_code == 200
        assert client.post("/logout").status_code == 302
        assert client.get("/settings/tokens").status_code == 302

    def test_wrong_password(self, dana):
        response = Client().post("/login", {"username": "dana", "password": "nope"})
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()

    def test_change_password(self, browser, dana):
        response = browser.post("/settings/password", {"old_password": PASSWORD, "new_password1": "another-g00d-one",
                                                       "new_password2": "another-g00d-one"})
        assert response.status_code == 302
        assert Client().login(username="dana", password="another-g00d-one")

    def test_pages_are_plain_and_offline(self, browser):
        page = browser.get("/settings/tokens").content.decode()
        assert "/static/berth.css" in page
        assert not re.search(r'(src|href)="(https?:)?//', page)
