"""Who calls the REST API: a personal access token sent as GitHub's clients send one.

`Authorization: Bearer <PAT>` and `token <PAT>` (Octokit, gh, PyGithub), or Basic with the PAT as
the password (curl -u). Invalid tokens count against the address as they do at /token and /v2/,
and a valid token is always accepted.
"""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts import throttling, tokens
from accounts.authentication import Credential, basic_credentials, token_failed, verify_basic
from accounts.models import PersonalAccessToken

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


class PersonalAccessTokenAuthentication(BaseAuthentication):
    """Bearer <PAT>, token <PAT> or Basic USERNAME:<PAT>; nothing at all is an anonymous caller."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        try:
            if header[0].lower() in TOKEN_SCHEMES:
                if len(header) != 2:
                    raise exceptions.AuthenticationFailed("Bad credentials")
                pat = verify_header_token(request, header[1].decode("ascii", "replace"))
            elif header[0].lower() == b"basic":
                pat = verify_basic(request, *basic_credentials(request))
            else:
                raise exceptions.AuthenticationFailed("Bad credentials")
        except throttling.LoginThrottled as e:
            raise exceptions.Throttled(wait=e.retry_after, detail=str(e))
        except tokens.InvalidToken as e:
            # GitHub's clients look for "Bad credentials"; Berth's reason (revoked, expired...) follows it.
            reason = str(e)
            message = reason if reason == "Bad credentials" else f"Bad credentials: {reason}"
            raise exceptions.AuthenticationFailed(message)
        return pat.user, Credential(pat=pat)

    def authenticate_header(self, request):
        # GitHub's API names no challenge a client could follow; a realm lets curl retry with -u.
        return 'Basic realm="Berth REST API"'
