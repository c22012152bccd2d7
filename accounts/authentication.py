"""DRF authentication for /v2/: Bearer registry tokens and Basic username + personal access token or CI job token.

A password that looks like a JWT is a CI job's OIDC ID token (accounts.oidc) and nothing else; any
other password is a personal access token and nothing else, so neither can pass for the other.
"""

import base64
import binascii
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts import oidc, refresh_tokens, registry_tokens, throttling, tokens
from accounts.models import FailedLogin, PersonalAccessToken
from accounts.registry_tokens import RegistryGrant
from audit.services import audit_failed_login
from registry.api.actions import mount_source, request_action
from registry.oci.errors import Unavailable
from registry.oci.names import is_valid_name
from sources.identity import JobIdentity

PUSH_ACTIONS = {"pull": "pull", "push": "pull,push", "delete": "delete"}


@dataclass(frozen=True)
class Credential:
    """What a request proved: the personal access token or the CI job behind it and, for a registry token, its grant.

    A CI job (job set) has no personal access token and no user: its repository is the principal.
    """

    pat: PersonalAccessToken | None
    grant: RegistryGrant | None = None
    job: JobIdentity | None = None


def challenge(request, name: str | None = None, action: str | None = None, error: str | None = None) -> str:
    """Return the WWW-Authenticate value that sends a client to /token for name and action."""
    realm = request.build_absolute_uri(reverse("accounts:token"))
    parts = [f'realm="{realm}"', f'service="{request.get_host()}"']
    if name:
        scopes = [f"repository:{name}:{PUSH_ACTIONS.get(action or 'pull', action)}"]
        source = mount_source(request)
        if source and source != name:
            # As distribution does: a token that can also read the source lets the client mount.
            scopes.append(f"repository:{source}:pull")
        parts.append(f'scope="{" ".join(scopes)}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ",".join(parts)


def request_scope(request) -> tuple[str | None, str]:
    """Return the repository name and action a /v2/ request is about, for its challenge."""
    kwargs = (getattr(request, "parser_context", None) or {}).get("kwargs") or {}
    name = kwargs.get("name")
    # A name outside the grammar (a newline, a quote) must not reach the header.
    return (name if name and is_valid_name(name) else None), request_action(request)


def basic_credentials(request) -> tuple[str, str] | None:
    """Return (username, password) from a Basic Authorization header, None if there is none."""
    header = get_authorization_header(request).split()
    if not header or header[0].lower() != b"basic":
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed("malformed Basic Authorization header")
    try:
        username, sep, password = base64.b64decode(header[1], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise exceptions.AuthenticationFailed("malformed Basic Authorization header")
    if not sep:
        raise exceptions.AuthenticationFailed("malformed Basic Authorization header")
    return username, password


def verify_basic(request, username: str, password: str) -> PersonalAccessToken:
    """Return the token a Basic login names; raise InvalidToken, or LoginThrottled past the address's limit.

    The token is looked up before any throttle: a valid one is always accepted, so no one can
    lock its holder out by sending wrong passwords or tokens under that username.
    """
    address = throttling.client_address(request)
    try:
        return tokens.authenticate(username, password)
    except tokens.InvalidToken as e:
        token_failed(address=address, username=username)
        if not tokens.looks_like_token(password):
            create = request.build_absolute_uri(reverse("accounts:token-new")) + "?scopes=write:packages"
            raise tokens.InvalidToken(f"{e}: sign in with a personal access token as the password "
                                      f"(create one at {create})")
        raise


def verify_refresh(request, refresh_token: str, username: str = "") -> PersonalAccessToken:
    """Return the still usable token a refresh token stands for; raise InvalidToken or LoginThrottled.

    username, when the client sends one, must be the refresh token's owner.
    """
    address = throttling.client_address(request)
    try:
        try:
            grant = refresh_tokens.verify(refresh_token)
        except refresh_tokens.InvalidRefreshToken as e:
            raise tokens.InvalidToken(str(e))
        if username and username.lower() != grant.username.lower():
            raise tokens.InvalidToken("this refresh token belongs to another user")
        pat = tokens.get_active(grant.pat_id)
        if pat.user.get_username().lower() != grant.username.lower():
            raise tokens.InvalidToken("this refresh token belongs to another user")
    except tokens.InvalidToken:
        token_failed(address=address, username=username)
        raise
    return pat


def verify_job(request, token: str) -> JobIdentity:
    """Return the CI job a job token proves; raise InvalidJobToken (KeysUnavailable) or LoginThrottled.

    A refused token counts against the address as a wrong personal access token does; an issuer
    whose keys can't be fetched is nobody's fault and counts nothing. A valid token is always accepted.
    """
    # Imported here: sources.services reads accounts.access, which imports this module.
    from sources.services import job_identity

    try:
        return job_identity(oidc.verify(token))
    except oidc.KeysUnavailable:
        raise
    except oidc.InvalidJobToken:
        token_failed(address=throttling.client_address(request), username="")
        raise


def verify_password(request, username: str, password: str) -> PersonalAccessToken | JobIdentity:
    """Return what a username and password sign in with: a CI job for a JWT, else a personal access token.

    Raise what verify_job or verify_basic raise. The username of a job token is ignored (-u ANYTHING).
    """
    if oidc.looks_like_jwt(password):
        return verify_job(request, password)
    return verify_basic(request, username, password)


def credential(signed_in: PersonalAccessToken | JobIdentity) -> tuple[object, Credential]:
    """Return the (user, Credential) pair a DRF authentication class answers for a sign-in."""
    if isinstance(signed_in, JobIdentity):
        return AnonymousUser(), Credential(pat=None, job=signed_in)
    return signed_in.user, Credential(pat=signed_in)


def job_current(job_claim: dict) -> JobIdentity:
    """Return the CI job a registry token's job claim names, as its repository stands now; raise InvalidJobToken.

    A removed repository stops its registry tokens at once, and a change of its push refs applies at once.
    """
    from sources.services import job_identity_current

    try:
        job = JobIdentity.from_claims(job_claim)
    except (KeyError, TypeError, ValueError):
        raise oidc.InvalidJobToken("the registry token's job claim is not valid; ask /token for a new one")
    return job_identity_current(job)


def keys_unavailable(exc: oidc.KeysUnavailable) -> Unavailable:
    """Return the 503 a job token gets while its issuer's keys can't be fetched."""
    return Unavailable(f"{exc}; try again shortly", headers={"Retry-After": str(exc.retry_after)})


def token_failed(*, address: str | None, username: str) -> None:
    """Count an invalid token from address; raise LoginThrottled if address already sent too many."""
    throttling.check_token(address=address)
    throttling.record_failure(kind=FailedLogin.Kind.TOKEN, username=username, address=address)
    # After the throttle: refused floods are not written to the audit log.
    audit_failed_login(username=username, via="token")


class RegistryTokenAuthentication(BaseAuthentication):
    """Authorization: Bearer <registry token from /token>."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("malformed Bearer Authorization header")
        try:
            grant = registry_tokens.verify(header[1].decode("ascii", "replace"))
        except registry_tokens.InvalidRegistryToken as e:
            raise exceptions.AuthenticationFailed(str(e))
        if grant.job is not None:
            try:
                job = job_current(grant.job)
            except oidc.InvalidJobToken as e:
                raise exceptions.AuthenticationFailed(str(e))
            return AnonymousUser(), Credential(pat=None, grant=grant, job=job)
        if grant.pat_id is None:
            return AnonymousUser(), Credential(pat=None, grant=grant)
        try:
            pat = tokens.get_active(grant.pat_id)
        except tokens.InvalidToken as e:
            raise exceptions.AuthenticationFailed(str(e))
        return pat.user, Credential(pat=pat, grant=grant)

    def authenticate_header(self, request):
        name, action = request_scope(request)
        return challenge(request, name, action)


class PersonalAccessTokenAuthentication(BaseAuthentication):
    """Authorization: Basic USERNAME:PERSONAL_ACCESS_TOKEN (or ANYTHING:CI_JOB_TOKEN), for curl and other clients."""

    def authenticate(self, request):
        credentials = basic_credentials(request)
        if credentials is None:
            return None
        try:
            signed_in = verify_password(request, *credentials)
        except throttling.LoginThrottled as e:
            raise exceptions.Throttled(wait=e.retry_after, detail=str(e))
        except oidc.KeysUnavailable as e:
            raise keys_unavailable(e)
        except (tokens.InvalidToken, oidc.InvalidJobToken) as e:
            raise exceptions.AuthenticationFailed(str(e))
        return credential(signed_in)

    def authenticate_header(self, request):
        name, action = request_scope(request)
        return challenge(request, name, action)
