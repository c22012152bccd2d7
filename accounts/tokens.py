"""Personal access tokens: how they look, how they are hashed, and how one is checked.

A token is `berth_pat_` followed by 40 random letters and digits (about 238 bits). The
prefix lets secret scanners spot a leaked token; only the SHA-256 of the whole token is
stored, so a database dump reveals none.
"""

import hashlib
import hmac
import secrets
import string
from datetime import timedelta

from django.utils import timezone

from accounts.models import PersonalAccessToken, Scope

PREFIX = "berth_pat_"
ALPHABET = string.ascii_letters + string.digits
RANDOM_LENGTH = 40
HINT_LENGTH = len(PREFIX) + 4
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# What each scope lets a token do on the distribution API.
SCOPE_ACTIONS = {
    Scope.READ_PACKAGES: {"pull"},
    Scope.WRITE_PACKAGES: {"pull", "push"},
    Scope.DELETE_PACKAGES: {"delete"},
}


class InvalidToken(Exception):
    """The token is unknown, revoked, expired or belongs to someone else; the message says which."""


def generate() -> str:
    """Return a new random token."""
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    return value.startswith(PREFIX) and len(value) == len(PREFIX) + RANDOM_LENGTH


def normalize_scopes(scopes) -> list[str]:
    """Return scopes in canonical order, with read:packages added when write:packages is asked for.

    Raise ValueError naming any unknown scope.
    """
    wanted = {s.strip() for s in scopes if s and s.strip()}
    unknown = wanted - set(Scope.values)
    if unknown:
        raise ValueError(f"unknown scope {', '.join(sorted(unknown))}; choose from {', '.join(Scope.values)}")
    if Scope.WRITE_PACKAGES in wanted:
        wanted.add(Scope.READ_PACKAGES)
    return [s for s in Scope.values if s in wanted]


def scope_actions(scopes) -> set[str]:
    """Return the distribution API actions (pull, push, delete) that scopes allow."""
    actions: set[str] = set()
    for scope in scopes:
        actions |= SCOPE_ACTIONS.get(scope, set())
    return actions


def unusable(*, revoked_at, expires_at, user_is_active: bool, now) -> str | None:
    """Return why a token with these fields can't be used at now, or None if it can.

    The one validity rule: check() applies it to a row the ORM read, and the manifest pull fast
    path (registry/api/pull.py) to the columns its single statement read.
    """
    if revoked_at is not None:
        return "this personal access token was revoked; create a new one"
    if expires_at is not None and expires_at <= now:
        return "this personal access token has expired; create a new one"
    if not user_is_active:
        return "the account this token belongs to is disabled"
    return None


def use_due(last_used_at, now) -> bool:
    """Return True if a use at now is to be recorded in last_used_at (at most once a minute)."""
    return last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION


def check(pat: PersonalAccessToken) -> PersonalAccessToken:
    """Return pat if it can still be used now, else raise InvalidToken."""
    reason = unusable(revoked_at=pat.revoked_at, expires_at=pat.expires_at, user_is_active=pat.user.is_active,
                      now=timezone.now())
    if reason is not None:
        raise InvalidToken(reason)
    return pat


def find(token: str) -> PersonalAccessToken | None:
    """Return the stored token whose value is token, usable or not, with its user; None if there is none."""
    digest = hash_token(token)
    pat = PersonalAccessToken.objects.select_related("user").filter(token_hash=digest).first()
    # The lookup is by hash; compare again in constant time so no timing tells the hashes apart.
    if pat is None or not hmac.compare_digest(pat.token_hash, digest):
        return None
    return pat


def authenticate(username: str, token: str) -> PersonalAccessToken:
    """Return username's usable token whose value is token, else raise InvalidToken."""
    pat = find(token)
    if pat is None:
        raise InvalidToken("wrong username or personal access token")
    if not hmac.compare_digest(pat.user.get_username().lower().encode(), username.lower().encode()):
        raise InvalidToken("wrong username or personal access token")
    return touch(check(pat))


def get_active(token_id: int) -> PersonalAccessToken:
    """Return the token with this id if it is still usable (registry tokens carry the id)."""
    pat = PersonalAccessToken.objects.select_related("user").filter(pk=token_id).first()
    if pat is None:
        raise InvalidToken("the personal access token behind this registry token was deleted")
    return touch(check(pat))


def touch(pat: PersonalAccessToken) -> PersonalAccessToken:
    """Record that pat was used, writing at most once a minute."""
    now = timezone.now()
    if use_due(pat.last_used_at, now):
        PersonalAccessToken.objects.filter(pk=pat.pk).update(last_used_at=now)
        pat.last_used_at = now
    return pat
