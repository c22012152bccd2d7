"""Registry tokens: the short JWTs `/token` issues and `/v2/` accepts as Bearer credentials.

A token names the repositories and actions it grants and, when a person asked for it, the
personal access token it came from; `/v2/` re-checks that personal access token on every
request, so revoking or expiring it stops the registry token at once. Its lifetime covers
the longest upload session, so a 10 GB layer push never fails half way for an old token.

A token a CI job asked for with its OIDC identity carries instead a `job` claim
(sources.identity.JobIdentity.claims()) and lives no longer than the job's own token.
"""

import functools
import time
import uuid
from dataclasses import dataclass, field

import jwt
from django.conf import settings
from django.utils.crypto import salted_hmac

ALGORITHM = "HS256"
ISSUER = "berth"
AUDIENCE = "berth-registry"
LEEWAY_SECONDS = 30


class InvalidRegistryToken(Exception):
    pass


@dataclass(frozen=True)
class RegistryGrant:
    """What a verified registry token says: who, from which personal access token, may do what."""

    user_id: int | None
    pat_id: int | None
    access: dict[str, frozenset[str]] = field(default_factory=dict)
    # The `job` claim of a token a CI job asked for (JobIdentity.from_claims reads it), else None.
    job: dict | None = None

    def actions(self, name: str) -> frozenset[str]:
        return self.access.get(name, frozenset())


def _key() -> str:
    # A key of its own, derived from SECRET_KEY, so these JWTs never verify as anything else.
    return _derive_key(settings.SECRET_KEY)


@functools.lru_cache(maxsize=4)
def _derive_key(secret: str) -> str:
    return salted_hmac("berth.accounts.registry_tokens", "signing-key", secret=secret).hexdigest()


def lifetime() -> int:
    """Return how many seconds a registry token lives: at least one upload session and a margin."""
    return max(settings.BERTH_REGISTRY_TOKEN_LIFETIME, settings.BERTH_UPLOAD_TIMEOUT + 300)


def issue(*, username: str, user_id: int | None, pat_id: int | None, access: dict[str, set[str]],
          job: dict | None = None, expires_at: int | None = None) -> tuple[str, int, int]:
    """Return a signed registry token, its lifetime in seconds and when it was issued (epoch).

    job is a CI job's `job` claim; expires_at (epoch) ends the token sooner than lifetime() would,
    as a job's token must not outlive the job token it was exchanged for.
    """
    now = int(time.time())
    expires_in = lifetime()
    if expires_at is not None:
        expires_in = max(0, min(expires_in, int(expires_at) - now))
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": username,
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "jti": uuid.uuid4().hex,
        "uid": user_id,
        "pat": pat_id,
        "access": [
            {"type": "repository", "name": name, "actions": sorted(actions)}
            for name, actions in sorted(access.items())
        ],
    }
    if job is not None:
        claims["job"] = job
    return jwt.encode(claims, _key(), algorithm=ALGORITHM), expires_in, now


# Tokens whose signature and claims have been checked, with the window they are valid in. A pull
# sends the same token many times and checking it was the largest share of a manifest GET;
# the signature can't change, so only the times are checked again. Bounded, and keyed by the
# signing key as well, so a new SECRET_KEY verifies every token afresh.
VERIFIED_LIMIT = 4096
_verified: dict[tuple[str, str], tuple[RegistryGrant, float, float]] = {}


def verify(token: str) -> RegistryGrant:
    """Return the grant a registry token carries, or raise InvalidRegistryToken."""
    key = _key()
    known = _verified.get((key, token))
    if known is not None:
        grant, not_before, expires = known
        now = time.time()
        if now >= expires:
            raise InvalidRegistryToken("the registry token has expired; ask /token for a new one")
        if now >= not_before:
            return grant
    grant, not_before, expires = _decode(token, key)
    if len(_verified) >= VERIFIED_LIMIT:
        _verified.clear()
    _verified[(key, token)] = (grant, not_before, expires)
    return grant


def _decode(token: str, key: str) -> tuple[RegistryGrant, float, float]:
    """Check token's signature and claims; return its grant and the times (epoch) it is valid from and until."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                            leeway=LEEWAY_SECONDS, options={"require": ["exp", "iat", "sub"]})
    except jwt.ExpiredSignatureError:
        raise InvalidRegistryToken("the registry token has expired; ask /token for a new one")
    except jwt.InvalidTokenError:
        raise InvalidRegistryToken("the registry token is not valid; ask /token for a new one")
    access = {}
    for entry in claims.get("access") or []:
        if isinstance(entry, dict) and entry.get("type") == "repository":
            access[str(entry.get("name"))] = frozenset(entry.get("actions") or ())
    job = claims.get("job")
    grant = RegistryGrant(user_id=claims.get("uid"), pat_id=claims.get("pat"), access=access,
                          job=job if isinstance(job, dict) else None)
    # The window PyJWT allows: from the later of nbf and iat, until exp, both widened by the leeway.
    not_before = max(float(claims.get("nbf", claims["iat"])), float(claims["iat"])) - LEEWAY_SECONDS
    return grant, not_before, float(claims["exp"]) + LEEWAY_SECONDS
