"""Refresh tokens: what the OAuth2 form of /token hands out with access_type=offline.

A refresh token names the personal access token it was obtained with and that token's owner.
It is signed with a key, audience and type of its own, so it never verifies as a registry token
nor a registry token as a refresh token. It grants nothing by itself: every exchange re-checks
the personal access token (revoked, expired or a disabled account stop it at once) and grants
only what the token's scopes and the person allow then. It lives BERTH_REFRESH_TOKEN_LIFETIME
seconds, and never past the personal access token's own expiry.
"""

import functools
import time
import uuid
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.utils.crypto import salted_hmac

from accounts.models import PersonalAccessToken

ALGORITHM = "HS256"
ISSUER = "berth"
AUDIENCE = "berth-refresh"
TYPE = "refresh"


class InvalidRefreshToken(Exception):
    pass


@dataclass(frozen=True)
class RefreshGrant:
    """What a verified refresh token says: whose personal access token it stands for."""

    username: str
    pat_id: int


def _key() -> str:
    return _derive_key(settings.SECRET_KEY)


@functools.lru_cache(maxsize=4)
def _derive_key(secret: str) -> str:
    # Not the registry tokens' key: a registry token's signature can never pass here.
    return salted_hmac("berth.accounts.refresh_tokens", "signing-key", secret=secret).hexdigest()


def issue(*, pat: PersonalAccessToken) -> str:
    """Return a signed refresh token standing for pat."""
    now = int(time.time())
    expires = now + settings.BERTH_REFRESH_TOKEN_LIFETIME
    if pat.expires_at is not None:
        expires = min(expires, int(pat.expires_at.timestamp()))
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "typ": TYPE,
        "sub": pat.user.get_username(),
        "iat": now,
        "exp": expires,
        "jti": uuid.uuid4().hex,
        "pat": pat.pk,
    }
    return jwt.encode(claims, _key(), algorithm=ALGORITHM)


def verify(token: str) -> RefreshGrant:
    """Return what a refresh token stands for, or raise InvalidRefreshToken."""
    try:
        claims = jwt.decode(token, _key(), algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "typ", "pat"]})
    except jwt.ExpiredSignatureError:
        raise InvalidRefreshToken("the refresh token has expired; log in again")
    except jwt.InvalidTokenError:
        raise InvalidRefreshToken("the refresh token is not valid; log in again")
    if claims["typ"] != TYPE or not isinstance(claims["pat"], int) or not isinstance(claims["sub"], str):
        raise InvalidRefreshToken("the refresh token is not valid; log in again")
    return RefreshGrant(username=claims["sub"], pat_id=claims["pat"])
