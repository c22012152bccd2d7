"""CI jobs sign in at /token with their OIDC ID token as the password, and use the registry token at /v2/.

The job tokens come from tests/oidc_issuer.py's OIDCIssuer, a real issuer over HTTP, which the issuer
fixture of tests/accounts/helpers.py trusts.
"""

import time

import pytest
from django.test import Client

from accounts import oidc, registry_tokens, tokens
from accounts.models import FailedLogin
from registry.models import Package, Visibility
from sources import services as source_services
from tests.accounts.helpers import (
    APP_URL,
    AUDIENCE,
    GITHUB_URL,
    claims_of,
    errors,
    get_token,
    granted,
    job_client,
    post_token,
)
from tests.oidc_issuer import GITLAB, OIDCIssuer
from tests.registry.helpers import push_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def gitlab(settings, issuer):
    """A GitLab-shaped issuer trusted beside issuer (project_path, ref_path...)."""
    with OIDCIssuer() as lab:
        settings.BERTH_CI_ISSUERS = [*settings.BERTH_CI_ISSUERS, lab.config(audience=AUDIENCE, **GITLAB)]
        yield lab


@pytest.fixture
def job_token(issuer, repository):
    """Return mint(**claims): a job token of alice/app's CI (RS256 unless alg is given)."""
    def mint(alg: str = "RS256", **claims) -> str:
        return issuer.mint(issuer.github_claims(repository="alice/app", **claims), alg=alg)
    return mint


def bearer_client(registry_token: str) -> Client:
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {registry_token}"
    return client


# Sign-in at GET /token (docker, podman) and POST /token (containerd).

@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_job_token_is_the_password_at_get_token(job_token, repository, alg):
    response = get_token(job_client(job_token(alg=alg), username="anything"), "repository:alice/new:pull,push")
    assert granted(response) == {"alice/new": ["pull", "push"]}
    claims = claims_of(response)
    assert claims["pat"] is None and claims["uid"] is None
    assert claims["sub"] == "alice/app"
    assert claims["job"]["url"] == APP_URL and claims["job"]["rid"] == repository.pk
    assert claims["job"]["ref"] == "refs/heads/main"


def test_gitlab_shaped_job_tokens_sign_in(gitlab, alice):
    source_services.repository_add(namespace="alice", url="https://gitlab.example.com/alice/tool", by=alice)
    token = gitlab.mint(gitlab.gitlab_claims(project_path="alice/tool", ref="v1", ref_type="tag"), alg="ES256")
    response = get_token(job_client(token), "repository:alice/tool:pull,push")
    assert granted(response) == {"alice/tool": ["pull", "push"]}
    job = claims_of(response)["job"]
    assert job["url"] == "https://gitlab.example.com/alice/tool"
    assert (job["ref"], job["run"]) == ("refs/tags/v1", "4242")


def test_the_oauth2_form_takes_a_job_token_and_gives_no_refresh_token(job_token):
    response = post_token(Client(), grant_type="password", username="ci", password=job_token(),
                          service="testserver", scope="repository:alice/new:pull,push", access_type="offline")
    assert granted(response) == {"alice/new": ["pull", "push"]}
    document = response.json()
    assert document["scope"] == "repository:alice/new:pull,push"
    assert "refresh_token" not in document


def test_the_registry_token_lives_no_longer_than_the_job_token(job_token, settings):
    settings.BERTH_REGISTRY_TOKEN_LIFETIME = 3600
    expires_at = int(time.time()) + 120
    response = get_token(job_client(job_token(exp=expires_at)), "repository:alice/new:push")
    claims = claims_of(response)
    assert claims["exp"] == expires_at
    assert 100 <= response.json()["expires_in"] <= 120
    assert claims["exp"] - claims["iat"] == response.json()["expires_in"]


def test_a_job_on_another_owners_package_gets_no_push(job_token, make_user, client_for):
    bob = make_user("bob")
    push_image(client_for(bob), "1", name="bob/tool")
    Package.objects.filter(name="bob/tool").update(visibility=Visibility.PUBLIC)
    response = get_token(job_client(job_token()), "repository:bob/tool:pull,push", "repository:bob/new:push")
    # Public: the job may pull it; not connected to alice/app: no push; bob's namespace: no new package.
    assert granted(response) == {"bob/tool": ["pull"]}


# Every refusal: 401 with a message a person can act on, counted against the address.

def refused(response, *phrases: str) -> str:
    assert response.status_code == 401, response.content
    message = errors(response)[0]["message"]
    assert errors(response)[0]["code"] == "UNAUTHORIZED"
    for phrase in phrases:
        assert phrase in message, message
    return message


def test_a_token_of_an_untrusted_issuer_is_refused(job_token):
    with OIDCIssuer() as stranger:
        token = stranger.mint(stranger.github_claims(repository="alice/app"))
    refused(get_token(job_client(token), "repository:alice/app:pull"), stranger.url, "not trusted")


def test_a_token_for_another_audience_is_refused(issuer, repository):
    token = issuer.mint(issuer.github_claims(repository="alice/app"), aud="https://github.com/alice")
    refused(get_token(job_client(token), "repository:alice/app:pull"), "audience", AUDIENCE)


def test_an_expired_token_is_refused(job_token):
    token = job_token(exp=int(time.time()) - 3600, iat=int(time.time()) - 4000, nbf=int(time.time()) - 4000)
    refused(get_token(job_client(token), "repository:alice/app:pull"), "expired")


def test_a_token_with_a_bad_signature_is_refused(job_token):
    header, payload, signature = job_token().split(".")
    forged = ".".join([header, payload, signature[:-8] + ("A" * 8 if signature[-8:] != "A" * 8 else "B" * 8)])
    refused(get_token(job_client(forged), "repository:alice/app:pull"), "signature")


def test_a_token_of_an_unregistered_repository_says_who_may_add_it(issuer, alice):
    token = issuer.mint(issuer.github_claims(repository="alice/other"))
    refused(get_token(job_client(token), "repository:alice/other:pull"),
            "https://github.com/alice/other", "not registered", "add_repository")


def test_refusals_are_token_failures_and_are_throttled(issuer, repository, settings):
    settings.BERTH_TOKEN_FAILURES_PER_ADDRESS = 3
    token = issuer.mint(issuer.github_claims(repository="alice/app"), aud="elsewhere")
    for _ in range(3):
        refused(get_token(job_client(token), "repository:alice/app:pull"))
    assert FailedLogin.objects.filter(kind=FailedLogin.Kind.TOKEN).count() == 3
    throttled = get_token(job_client(token), "repository:alice/app:pull")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0


def test_the_oauth2_form_refuses_a_bad_job_token_with_invalid_grant(issuer, repository):
    token = issuer.mint(issuer.github_claims(repository="alice/app"), aud="elsewhere")
    response = post_token(Client(), grant_type="password", username="ci", password=token, service="testserver",
                          scope="repository:alice/app:pull")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_grant"
    assert "audience" in response.json()["error_description"]


def test_an_issuer_whose_keys_cant_be_fetched_is_503_with_retry_after(settings, alice):
    with OIDCIssuer() as gone:
        settings.BERTH_CI_ISSUERS = [gone.config(audience=AUDIENCE, repository_url=GITHUB_URL)]
        source_services.repository_add(namespace="alice", url=APP_URL, by=alice)
        token = gone.mint(gone.github_claims(repository="alice/app"))
    # The issuer has stopped: no keys to check the token with, which is nobody's wrong password.
    response = get_token(job_client(token), "repository:alice/app:pull")
    assert response.status_code == 503, response.content
    assert errors(response)[0]["code"] == "UNAVAILABLE"
    assert int(response["Retry-After"]) > 0
    assert not FailedLogin.objects.exists()
    form = post_token(Client(), grant_type="password", username="ci", password=token, service="testserver")
    assert form.status_code == 503 and form.json()["error"] == "temporarily_unavailable"
    direct = job_client(token).get("/v2/")
    assert direct.status_code == 503 and errors(direct)[0]["code"] == "UNAVAILABLE"
    assert int(direct["Retry-After"]) > 0


# A job token never passes for a personal access token, nor a personal access token for a job token.

def test_a_pat_never_goes_to_oidc_and_a_jwt_never_to_the_pat_lookup(job_token, alice, client_for,
                                                                     monkeypatch):
    calls = []
    real_verify, real_authenticate = oidc.verify, tokens.authenticate
    monkeypatch.setattr(oidc, "verify", lambda value: calls.append(("oidc", value)) or real_verify(value))
    monkeypatch.setattr(tokens, "authenticate",
                        lambda username, value: calls.append(("pat", value)) or real_authenticate(username, value))
    pat_client = client_for(alice)
    assert get_token(pat_client, "repository:alice/x:pull").status_code == 200
    job = job_token()
    assert get_token(job_client(job, username="alice"), "repository:alice/x:pull").status_code == 200
    assert calls == [("pat", pat_client.token), ("oidc", job)]


def test_a_jwt_that_is_no_job_token_is_refused_as_a_job_token(issuer, repository, alice):
    # A registry token is a JWT too: as a password it is judged as a job token, never looked up as a PAT.
    value, _, _ = registry_tokens.issue(username="alice", user_id=alice.pk, pat_id=None, access={})
    message = refused(get_token(job_client(value, username="alice"), "repository:alice/x:pull"), "issuer")
    assert "personal access token" not in message


# /v2/ with the registry token, and with the job token itself as a Basic password.

def test_a_job_pushes_a_new_package_and_pulls_it_with_its_registry_token(job_token):
    response = get_token(job_client(job_token()), "repository:alice/new:pull,push")
    client = bearer_client(response.json()["token"])
    digest, _ = push_image(client, "1", name="alice/new")
    assert client.get(f"/v2/alice/new/manifests/{digest}").status_code == 200
    package = Package.objects.get(name="alice/new")
    assert package.source_repository.url == APP_URL and package.inherit_access


def test_basic_with_the_job_token_works_at_v2(job_token):
    client = job_client(job_token(), username="x")
    assert client.get("/v2/").status_code == 200
    digest, _ = push_image(client, "1", name="alice/direct")
    assert client.get(f"/v2/alice/direct/manifests/{digest}").status_code == 200


def test_a_bad_job_token_at_v2_is_401_with_its_reason(issuer, repository):
    token = issuer.mint(issuer.github_claims(repository="alice/app"), aud="elsewhere")
    response = job_client(token).get("/v2/")
    assert response.status_code == 401
    assert "audience" in errors(response)[0]["message"]


def test_a_removed_repository_stops_its_registry_tokens_at_once(job_token, repository, settings):
    document = get_token(job_client(job_token()), "repository:alice/new:pull,push").json()
    client = bearer_client(document["token"])
    digest, _ = push_image(client, "1", name="alice/new")
    # Public, so the manifest pull fast path would answer anyone: it must leave a job's token to the full stack.
    Package.objects.filter(name="alice/new").update(visibility=Visibility.PUBLIC)
    assert client.get(f"/v2/alice/new/manifests/{digest}").status_code == 200
    source_services.repository_remove(repository=repository)
    for path in ("/v2/", f"/v2/alice/new/manifests/{digest}"):
        response = client.get(path)
        assert response.status_code == 401, (path, response.content)
        assert "no longer registered" in errors(response)[0]["message"]
    assert Client().get(f"/v2/alice/new/manifests/{digest}").status_code == 200  # anonymous: public


def test_push_refs_apply_to_registry_tokens_already_issued(job_token, repository):
    document = get_token(job_client(job_token(ref="refs/heads/feature")), "repository:alice/new:pull,push").json()
    client = bearer_client(document["token"])
    push_image(client, "1", name="alice/new")
    source_services.push_refs_set(repository=repository, push_refs=["refs/heads/main"])
    response = client.post("/v2/alice/new/blobs/uploads/")
    assert response.status_code == 403, response.content
    assert "refs/heads/feature" in errors(response)[0]["message"]


def test_a_job_on_a_ref_that_may_not_push_gets_pull_only(issuer, alice):
    source_services.repository_add(namespace="alice", url=APP_URL, push_refs=["refs/heads/main", "refs/tags/*"],
                                   by=alice)
    feature = issuer.mint(issuer.github_claims(repository="alice/app", ref="refs/heads/feature"))
    tag = issuer.mint(issuer.github_claims(repository="alice/app", ref="refs/tags/v1"))
    assert granted(get_token(job_client(tag), "repository:alice/new:pull,push")) == {"alice/new": ["pull", "push"]}
    main_client = bearer_client(get_token(job_client(tag), "repository:alice/new:pull,push").json()["token"])
    push_image(main_client, "1", name="alice/new")
    assert granted(get_token(job_client(feature), "repository:alice/new:pull,push")) == {"alice/new": ["pull"]}
