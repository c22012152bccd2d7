"""Who calls the REST API: a personal access token or a CI job token sent as GitHub's clients send one.

`Authorization: Bearer <PAT>` and `token <PAT>` (Octokit, gh, PyGithub), or Basic with the PAT as
the password (curl -u). A value that looks like a JWT is a CI job's OIDC ID token instead (as
GITHUB_TOKEN is on GitHub), never looked up as a PAT. Invalid tokens count against the address
as they do at /token and /v2/, and a valid token is always accepted.
"""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts import oidc, throttling, tokens
from accounts.authentication import basic_credentials, credential, token_failed, verify_job, verify_password
from accounts.models import PersonalAccessToken
from api.errors import ServiceUnavailable

TOKEN_SCHEMES = (b"bearer", b"token")


def pat_get(value: str) -> PersonalAccessToken:
    """Return the usable token whose value is value, else raise InvalidToken (no username to match)."""
    pat = tokens.find(value)
    if pat is None:
        raise tokens.InvalidToken("Bad credentials")
    return tokens.touch(tokens.check(pat))


def verify_header_token(request, value: str) -> PersonalAccessToken:
    """Return the token a Bearer/token header carries; raise InvalidToken, or LoginThrottled past the limit."""
    try:
        return pat_get(value)
    except tokens.InvalidToken:
        token_failed(address=throttling.client_address(request), username="")
        raise


def keys_unavailable(exc: oidc.KeysUnavailable) -> ServiceUnavailable:
    """Return the 503 a job token gets while its issuer's keys can't be fetched."""
    return ServiceUnavailable(f"{exc}; try again shortly", headers={"Retry-After": str(exc.retry_after)})


class PersonalAccessTokenAuthentication(BaseAuthentication):
    """Bearer <PAT or job token>, token <...> or Basic USERNAME:<...>; nothing at all is an anonymous caller."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        try:
            if header[0].lower() in TOKEN_SCHEMES:
                if len(header) != 2:
                    raise exceptions.AuthenticationFailed("Bad credentials")
                value = header[1].decode("ascii", "replace")
                # No username to match: a JWT is a job token, anything else a PAT looked up by value.
                if oidc.looks_like_jwt(value):
                    signed_in = verify_job(request, value)
                else:
                    signed_in = verify_header_token(request, value)
            elif header[0].lower() == b"basic":
                signed_in = verify_password(request, *basic_credentials(request))
            else:
                raise exceptions.AuthenticationFailed("Bad credentials")
        except throttling.LoginThrottled as e:
            raise exceptions.Throttled(wait=e.retry_after, detail=str(e))
        except oidc.KeysUnavailable as e:
            raise keys_unavailable(e)
        except oidc.InvalidJobToken as e:
            raise exceptions.AuthenticationFailed(f"Bad credentials: {e}")
        except tokens.InvalidToken as e:
            # GitHub's clients look for "Bad credentials"; Berth's reason (revoked, expired...) follows it.
            reason = str(e)
            message = reason if reason == "Bad credentials" else f"Bad credentials: {reason}"
            raise exceptions.AuthenticationFailed(message)
        return credential(signed_in)

    def authenticate_header(self, request):
        # GitHub's API names no challenge a client could follow; a realm lets curl retry with -u.
        return 'Basic realm="Berth REST API"'
