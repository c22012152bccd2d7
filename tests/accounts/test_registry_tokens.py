"""Registry token verification, and the memo that spares checking a token's signature twice."""

import json
import time

import jwt
import pytest

from accounts import registry_tokens
from accounts.registry_tokens import InvalidRegistryToken, issue, verify


@pytest.fixture(autouse=True)
def _fresh_memo():
    registry_tokens._verified.clear()
    yield
    registry_tokens._verified.clear()


def token(**access) -> str:
    return issue(username="alice", user_id=1, pat_id=2, access=access or {"alice/app": {"pull"}})[0]


def claims_of(value: str) -> dict:
    return jwt.decode(value, options={"verify_signature": False})


def test_a_token_verifies_again_from_the_memo_with_the_same_grant():
    value = token()
    first = verify(value)
    assert first.actions("alice/app") == {"pull"} and first.pat_id == 2
    assert len(registry_tokens._verified) == 1
    assert verify(value) == first


def test_a_remembered_token_still_expires(monkeypatch):
    value = token()
    verify(value)
    expires = claims_of(value)["exp"]
    monkeypatch.setattr(time, "time", lambda: expires + registry_tokens.LEEWAY_SECONDS + 1)
    with pytest.raises(InvalidRegistryToken, match="expired"):
        verify(value)


def test_a_token_not_valid_yet_is_refused_and_not_remembered():
    now = int(time.time())
    claims = {**claims_of(token()), "iat": now + 600, "nbf": now + 600, "exp": now + 1200}
    early = jwt.encode(claims, registry_tokens._key(), algorithm="HS256")
    for _ in range(2):
        with pytest.raises(InvalidRegistryToken, match="not valid"):
            verify(early)
    assert registry_tokens._verified == {}


def test_a_new_secret_key_checks_remembered_tokens_afresh(settings):
    value = token()
    verify(value)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    with pytest.raises(InvalidRegistryToken, match="not valid"):
        verify(value)


def test_a_tampered_token_is_refused_after_the_real_one_was_remembered():
    value = token()
    verify(value)
    header, payload, signature = value.split(".")
    forged_claims = {**claims_of(value), "access": [{"type": "repository", "name": "bob/app", "actions": ["push"]}]}
    forged_payload = jwt.utils.base64url_encode(jwt.utils.force_bytes(
        json.dumps(forged_claims, separators=(",", ":")))).decode()
    with pytest.raises(InvalidRegistryToken):
        verify(f"{header}.{forged_payload}.{signature}")


def test_the_memo_stays_bounded(monkeypatch):
    monkeypatch.setattr(registry_tokens, "VERIFIED_LIMIT", 5)
    for n in range(12):
        verify(token(**{f"alice/app{n}": {"pull"}}))
        assert len(registry_tokens._verified) <= 5
