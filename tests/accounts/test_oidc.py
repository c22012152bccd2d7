"""CI job tokens: which ones accounts.oidc.verify accepts, and the message for each one it refuses."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from accounts import jwks, oidc
from accounts.oidc import InvalidJobToken
from tests.oidc_issuer import GITLAB, OIDCIssuer


@pytest.fixture
def issuer(settings, db):
    jwks.clear_memo()
    with OIDCIssuer(audience="berth.example.com") as issuer:
        settings.BERTH_CI_ISSUERS = [issuer.config()]
        yield issuer
    jwks.clear_memo()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, secret: bytes | None = None) -> str:
    """Return a token with this header and claims, HMAC-SHA256-signed with secret, or unsigned."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{b64(signature)}"


def refusal(token: str) -> str:
    with pytest.raises(InvalidJobToken) as caught:
        oidc.verify(token)
    return str(caught.value)


def test_a_github_actions_token_signed_rs256_is_accepted(issuer):
    claims = oidc.verify(issuer.mint(issuer.github_claims(repository="alice/app", ref="refs/tags/v1")))

    assert claims == oidc.JobClaims(
        issuer=issuer.url, repository="alice/app", repository_url="https://github.com/alice/app",
        ref="refs/tags/v1", sha="1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", workflow="CI", run_id="4242",
        subject="repo:alice/app:ref:refs/tags/v1", expires_at=claims.expires_at)
    assert claims.expires_at > time.time()


def test_a_token_signed_es256_is_accepted(issuer):
    assert oidc.verify(issuer.mint(issuer.github_claims(), alg="ES256")).repository == "alice/app"


def test_a_gitlab_ci_token_is_read_with_the_issuers_claim_names(issuer, settings):
    settings.BERTH_CI_ISSUERS = [issuer.config(**GITLAB)]

    claims = oidc.verify(issuer.mint(issuer.gitlab_claims(project_path="group/sub/app", ref="main")))

    assert (claims.repository, claims.repository_url) == ("group/sub/app", "https://gitlab.example.com/group/sub/app")
    assert claims.ref == "refs/heads/main"
    assert claims.sha == "4e9b7dbc7e42626ca4f4676ad91f17951f97af9a"
    assert claims.workflow == "gitlab.example.com/group/sub/app//.gitlab-ci.yml@refs/heads/main"
    assert claims.run_id == "4242"


def test_a_token_without_a_key_id_is_checked_against_the_keys_of_its_algorithm(issuer):
    token = jwt.encode(issuer.github_claims(), issuer.ec_key, algorithm="ES256")

    assert oidc.verify(token).repository == "alice/app"


def test_a_token_from_an_issuer_not_configured_is_refused(issuer, settings):
    assert refusal(issuer.mint(issuer.github_claims(iss="https://evil.example"))) == (
        f"the job token's issuer https://evil.example is not trusted by this registry (trusted: {issuer.url})")
    settings.BERTH_CI_ISSUERS = []
    assert "none are configured, see BERTH_CI_ISSUERS" in refusal(issuer.mint(issuer.github_claims()))
    assert issuer.requests == []


def test_the_issuer_must_match_exactly_a_trailing_slash_only_as_configured(issuer, settings):
    with_slash = issuer.mint(issuer.github_claims(iss=issuer.url + "/"))
    assert "is not trusted by this registry" in refusal(with_slash)

    settings.BERTH_CI_ISSUERS = [issuer.config(issuer=issuer.url + "/", jwks_uri=issuer.url + "/jwks")]
    assert oidc.verify(with_slash).issuer == issuer.url + "/"
    assert "is not trusted by this registry" in refusal(issuer.mint(issuer.github_claims()))


def test_a_token_for_another_audience_is_refused(issuer):
    assert refusal(issuer.mint(issuer.github_claims(aud="https://github.com/alice"))) == (
        "the job token is for audience 'https://github.com/alice'; this registry expects 'berth.example.com' "
        "— request the ID token with that audience")
    assert "the job token is for audience none;" in refusal(issuer.mint(issuer.github_claims(aud=None)))


def test_an_audience_list_is_accepted_if_it_holds_the_registrys(issuer):
    assert oidc.verify(issuer.mint(issuer.github_claims(aud=["sigstore", "berth.example.com"])))
    assert "audience ['sigstore', 'other']" in refusal(issuer.mint(issuer.github_claims(aud=["sigstore", "other"])))


def test_an_expired_token_is_refused_with_the_time_it_expired(issuer):
    token = issuer.mint(issuer.github_claims(exp=1796040062, iat=1796040000, nbf=1796040000))

    assert refusal(token) == ("the job token expired at 12:01:02 UTC; CI job tokens are short-lived, "
                              "request a fresh one")
    assert issuer.requests == []


def test_expiry_is_checked_with_the_configured_leeway(issuer, settings):
    token = issuer.mint(issuer.github_claims(exp=int(time.time()) - 30))
    assert oidc.verify(token)

    settings.BERTH_CI_LEEWAY_SECONDS = 10
    assert "the job token expired at" in refusal(token)


def test_a_token_not_yet_valid_is_refused_beyond_the_leeway(issuer):
    now = int(time.time())
    assert oidc.verify(issuer.mint(issuer.github_claims(nbf=now + 30)))
    assert "the job token is not valid before" in refusal(issuer.mint(issuer.github_claims(nbf=now + 120)))


def test_a_token_issued_in_the_future_is_refused_beyond_the_leeway(issuer):
    now = int(time.time())
    assert oidc.verify(issuer.mint(issuer.github_claims(iat=now + 30)))
    message = refusal(issuer.mint(issuer.github_claims(iat=now + 120)))
    assert message.startswith("the job token was issued in the future (")
    assert "check the clocks of this registry and the CI runner" in message


def test_a_token_without_an_expiry_is_refused(issuer):
    claims = issuer.github_claims()
    del claims["exp"]
    assert refusal(issuer.mint(claims)) == (
        "the job token has no expiry (exp); Berth accepts only short-lived CI job tokens")


def test_a_time_claim_that_is_not_a_number_is_refused(issuer):
    assert "'exp' claim is not a number" in refusal(issuer.mint(issuer.github_claims(exp="tomorrow")))


def test_a_token_without_the_repository_claim_is_refused(issuer, settings):
    claims = issuer.github_claims()
    del claims["repository"]
    assert refusal(issuer.mint(claims)) == (
        f"the job token has no 'repository' claim, which names the repository for {issuer.url} "
        "(repository_claim in BERTH_CI_ISSUERS)")
    settings.BERTH_CI_ISSUERS = [issuer.config(**GITLAB)]
    assert "no 'project_path' claim" in refusal(issuer.mint(issuer.github_claims()))


def test_an_unsigned_token_is_refused_before_any_key_is_fetched(issuer):
    token = forge({"alg": "none", "typ": "JWT"}, issuer.github_claims())

    assert oidc.looks_like_jwt(token)
    assert refusal(token) == ("the job token is signed with 'none'; Berth accepts only RS256 and ES256 "
                              "job tokens from CI issuers")
    assert issuer.requests == []


def test_an_hmac_token_keyed_with_the_issuers_public_key_is_refused(issuer):
    # The confusion attack: a verifier that let the token choose HS256 would use the public key as the secret.
    public_pem = issuer.rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    token = forge({"alg": "HS256", "typ": "JWT", "kid": issuer.kids["RS256"]}, issuer.github_claims(), public_pem)

    assert "signed with 'HS256'; Berth accepts only RS256 and ES256" in refusal(token)
    assert issuer.requests == []


@pytest.mark.parametrize("alg", ["RS512", "PS256", "ES384"])
def test_other_asymmetric_algorithms_are_refused(issuer, alg):
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1()) if alg == "ES384" else issuer.rsa_key
    token = jwt.encode(issuer.github_claims(), key, algorithm=alg, headers={"kid": issuer.kids["RS256"]})

    assert f"signed with {alg!r}" in refusal(token)


def test_a_token_signed_by_someone_else_with_the_issuers_key_id_is_refused(issuer):
    forger = OIDCIssuer()
    token = forger.mint(issuer.github_claims(), kid=issuer.kids["RS256"])

    assert refusal(token) == f"the job token's signature does not verify with the keys {issuer.url} publishes"


def test_a_token_whose_claims_were_changed_after_signing_is_refused(issuer):
    header, _, signature = issuer.mint(issuer.github_claims(repository="alice/app")).split(".")
    payload = b64(json.dumps(issuer.github_claims(repository="mallory/app")).encode())

    assert "signature does not verify" in refusal(f"{header}.{payload}.{signature}")


def test_a_token_naming_an_unknown_key_is_refused_with_the_keys_published(issuer):
    message = refusal(issuer.mint(issuer.github_claims(), kid="made-up"))

    assert message == (f"the job token was signed with key 'made-up', which {issuer.url} does not publish "
                       f"(it publishes {issuer.kids['RS256']}, {issuer.kids['ES256']})")


def test_a_token_naming_a_key_of_another_type_than_its_algorithm_is_refused(issuer):
    token = issuer.mint(issuer.github_claims(), alg="ES256", kid=issuer.kids["RS256"])

    assert refusal(token) == (f"the job token says ES256, but key {issuer.kids['RS256']!r} of {issuer.url} "
                              "is for RS256; its signature can't verify")


def test_what_is_not_a_jwt_is_refused_as_such(issuer):
    assert refusal("berth_pat_" + "a" * 40) == (
        "the job token is not a JWT (an OIDC ID token from the CI job was expected)")


RS256 = b64(b'{"alg": "RS256"}')
UNSIGNED = b64(b'{"alg": "none"}')


@pytest.mark.parametrize("value, expected", [
    ("berth_pat_" + "a" * 40, False),
    ("", False),
    ("a.b", False),
    ("a.b.c.d", False),
    (f"{b64(b'not json')}.e30.", False),
    (f"{b64(b'{}')}.e30.c2ln", False),
    (f"{b64(b'[1]')}.e30.c2ln", False),
    (f"{RS256}.e30.c2ln", True),
    (f"{UNSIGNED}.e30.", True),
    (f"{RS256}.e30.c2l+", False),
    (f"{RS256}.e30." + "a" * 20000, False),
])
def test_looks_like_jwt(value, expected):
    assert oidc.looks_like_jwt(value) is expected


def test_the_tokens_the_harness_mints_look_like_jwts(issuer):
    assert oidc.looks_like_jwt(issuer.mint(issuer.github_claims()))
    assert oidc.looks_like_jwt(issuer.mint(issuer.gitlab_claims(), alg="ES256"))
