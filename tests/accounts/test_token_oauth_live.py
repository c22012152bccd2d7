"""containerd's exact OAuth2 POST to /token, against Berth under gunicorn with every middleware."""

import re

import pytest
import requests

from tests.helpers import start_berth

pytestmark = pytest.mark.e2e

CHALLENGE = re.compile(r'^Bearer realm="([^"]+)",service="([^"]+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = start_berth(tmp_path_factory, workers=1, threads=2)
    yield server
    server.stop()


def fetch_token_with_oauth(realm: str, form: dict[str, str], **headers) -> requests.Response:
    """POST as containerd's FetchTokenWithOAuth does: urlencoded form, its Content-Type and User-Agent."""
    return requests.post(realm, data=form, timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "User-Agent": "containerd/v1.7.24", **headers})


def test_containerd_logs_in_with_the_oauth2_form(server):
    secret = server.manage("create_token", "carol", "--scopes", "write:packages", "--create-user").strip()
    challenge = requests.get(f"{server.url}/v2/carol/app/manifests/latest", timeout=10)
    assert challenge.status_code == 401
    realm, service = CHALLENGE.match(challenge.headers["WWW-Authenticate"]).groups()

    response = fetch_token_with_oauth(realm, {
        "scope": "repository:carol/app:pull repository:carol/app:pull,push", "service": service,
        "client_id": "containerd-client", "grant_type": "password", "username": "carol", "password": secret,
        "access_type": "offline"})
    assert response.status_code == 200, response.text
    assert "Set-Cookie" not in response.headers
    document = response.json()
    assert document["access_token"] and document["expires_in"] > 0 and document["issued_at"]
    assert document["scope"] == "repository:carol/app:pull,push"
    bearer = {"Authorization": f"Bearer {document['access_token']}"}
    assert requests.get(f"{server.url}/v2/", headers=bearer, timeout=10).status_code == 200
    upload = requests.post(f"{server.url}/v2/carol/app/blobs/uploads/", headers=bearer, timeout=10)
    assert upload.status_code == 202

    # With a refresh token as its secret and no username, containerd exchanges it.
    refreshed = fetch_token_with_oauth(realm, {
        "scope": "repository:carol/app:pull", "service": service, "client_id": "containerd-client",
        "grant_type": "refresh_token", "refresh_token": document["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["scope"] == "repository:carol/app:pull"

    wrong = fetch_token_with_oauth(realm, {
        "service": service, "client_id": "containerd-client", "grant_type": "password",
        "username": "carol", "password": "wrong"})
    # 401, not the CSRF 403: containerd then falls back to GET, which says the same.
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_grant"


def test_untrusted_forwarded_for_is_logged_once(server):
    secret = server.manage("create_token", "dave", "--scopes", "read:packages", "--create-user").strip()
    for _ in range(3):
        response = requests.get(f"{server.url}/token", auth=("dave", secret), timeout=10,
                                headers={"X-Forwarded-For": "203.0.113.7"})
        assert response.status_code == 200
    assert server.log.read_text().count("set BERTH_TRUST_PROXY_HEADERS=true") == 1
