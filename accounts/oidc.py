"""CI job tokens: OIDC ID tokens that trusted CI issuers sign for each job, and how Berth checks them.

An issuer (settings.BERTH_CI_ISSUERS) names the repository in one claim; its `repository_url` template
turns that claim into the repository's URL, the name owners register (sources/). Keys come from
accounts/jwks.py. config/settings.py calls parse_issuers at startup, so this module imports nothing
that needs Django's apps loaded (accounts.jwks is imported where it is used).
"""

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Asymmetric only: with HS* a public key could be used as the HMAC secret (the confusion attack).
ALGORITHMS = ("RS256", "ES256")
PLACEHOLDER = "{repository}"
REQUIRED_KEYS = ("issuer", "audience", "repository_url")
# A repository claim value: path segments (GitHub's owner/repo, GitLab's group/subgroup/project).
CLAIM_VALUE = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*")
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# Bigger than any real ID token; looks_like_jwt stays cheap on whatever a client sends as a password.
MAX_TOKEN_LENGTH = 16 * 1024
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class InvalidJobToken(Exception):
    """The CI job token is refused; str() says why and what to do about it."""


class KeysUnavailable(InvalidJobToken):
    """The issuer's signing keys can't be had right now (the issuer is unreachable or answers garbage).

    The token may be fine: answer 503 with Retry-After, not 401.
    """

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after if retry_after is not None else settings.BERTH_RETRY_AFTER


@dataclass(frozen=True)
class Issuer:
    """One trusted CI issuer, as an entry of BERTH_CI_ISSUERS configures it."""

    issuer: str
    audience: str
    repository_claim: str = "repository"
    repository_url: str = ""    # a template with {repository}: https://github.com/{repository}
    jwks_uri: str = ""          # default: the discovery document's jwks_uri
    jwks_file: str = ""         # a JWKS on disk instead of fetching (air-gapped sites)
    ref_claim: str = "ref"
    sha_claim: str = "sha"
    workflow_claim: str = "workflow"
    run_claim: str = "run_id"

    def url_for(self, claim_value: str) -> str:
        """Return the repository URL a repository claim value names."""
        return self.repository_url.replace(PLACEHOLDER, claim_value)

    def claim_for(self, url: str) -> str | None:
        """Return the repository claim value whose URL is url, None if url doesn't match the template.

        Tolerates what people paste: surrounding spaces, a trailing slash or `.git`, and another case
        in the scheme and host.
        """
        url = url.strip().removesuffix("/")
        for candidate in (url.removesuffix(".git"), url):
            value = self._value_in(candidate)
            if value is not None:
                return value
        return None

    def _value_in(self, url: str) -> str | None:
        prefix, suffix = self.repository_url.split(PLACEHOLDER, 1)
        if len(url) <= len(prefix) + len(suffix) or not url.lower().startswith(prefix.lower()):
            return None
        if not url.endswith(suffix):
            return None
        value = url[len(prefix):len(url) - len(suffix)]
        if not CLAIM_VALUE.fullmatch(value) or any(part in (".", "..") for part in value.split("/")):
            return None
        return value

    @property
    def keys_source(self) -> str:
        """Return where this issuer's keys come from, as messages name it."""
        return self.jwks_file or self.jwks_uri or self.issuer


@dataclass(frozen=True)
class JobClaims:
    """What a verified job token says about its job."""

    issuer: str
    repository: str          # the repository claim's value (alice/app)
    repository_url: str      # the issuer's template applied to it (https://github.com/alice/app)
    ref: str
    sha: str
    workflow: str
    run_id: str
    subject: str
    expires_at: int          # epoch seconds


def parse_issuers(entries, source: str = "BERTH_CI_ISSUERS") -> list[Issuer]:
    """Return the issuers a list of dicts configures; raise ImproperlyConfigured naming what is wrong."""
    if not isinstance(entries, list):
        raise ImproperlyConfigured(f"{source} must be a JSON list of issuer objects, not {type(entries).__name__}")
    known = {f.name for f in fields(Issuer)}
    parsed = []
    for index, entry in enumerate(entries):
        where = f"{source}[{index}]"
        if not isinstance(entry, dict):
            raise ImproperlyConfigured(f"{where} must be an object with {', '.join(REQUIRED_KEYS)}")
        where = f"{where} ({entry.get('issuer')})" if isinstance(entry.get("issuer"), str) else where
        for key in REQUIRED_KEYS:
            if not entry.get(key):
                raise ImproperlyConfigured(f"{where} lacks {key!r}; each issuer needs {', '.join(REQUIRED_KEYS)}")
        for key, value in entry.items():
            if key not in known:
                raise ImproperlyConfigured(f"{where} has unknown key {key!r}; known keys: {', '.join(sorted(known))}")
            if not isinstance(value, str):
                raise ImproperlyConfigured(f"{where}: {key!r} must be a string")
        parsed.append(_checked(Issuer(**_with_placeholder(entry)), where))
    seen = [issuer.issuer for issuer in parsed]
    for value in seen:
        if seen.count(value) > 1:
            raise ImproperlyConfigured(f"{source} lists the issuer {value} twice")
    return parsed


def _with_placeholder(entry: dict) -> dict:
    """Return entry with a template written with the claim's own name ({project_path}) as {repository}."""
    claim = entry.get("repository_claim") or "repository"
    template = entry["repository_url"]
    if PLACEHOLDER not in template and "{" + claim + "}" in template:
        return {**entry, "repository_url": template.replace("{" + claim + "}", PLACEHOLDER)}
    return entry


def _checked(issuer: Issuer, where: str) -> Issuer:
    if issuer.repository_url.count(PLACEHOLDER) != 1:
        raise ImproperlyConfigured(
            f"{where}: repository_url must contain {PLACEHOLDER} once, e.g. https://github.com/{PLACEHOLDER}")
    if urlsplit(issuer.repository_url).scheme not in ("https", "http"):
        raise ImproperlyConfigured(f"{where}: repository_url must be an https:// URL template")
    if issuer.jwks_uri and issuer.jwks_file:
        raise ImproperlyConfigured(f"{where}: set jwks_uri or jwks_file, not both")
    # Keys fetched over plain HTTP could be swapped by anyone on the path; loopback is for tests.
    # With jwks_file nothing is fetched and the issuer is only a name.
    urls = {"jwks_uri": issuer.jwks_uri} if issuer.jwks_file else {"issuer": issuer.issuer, "jwks_uri": issuer.jwks_uri}
    for key, value in urls.items():
        url = urlsplit(value)
        if value and url.scheme != "https" and not (url.scheme == "http" and url.hostname in LOOPBACK):
            raise ImproperlyConfigured(f"{where}: {key} must be an https:// URL (keys are fetched from it)")
    return issuer


def issuers() -> list[Issuer]:
    """Return the trusted issuers (settings.BERTH_CI_ISSUERS)."""
    return parse_issuers(settings.BERTH_CI_ISSUERS)


def issuer_for_url(url: str) -> tuple[Issuer, str] | None:
    """Return the issuer whose repository_url template matches url, and the claim value; None if none does."""
    for issuer in issuers():
        value = issuer.claim_for(url)
        if value is not None:
            return issuer, value
    return None


def looks_like_jwt(value: str) -> bool:
    """Return True if value is shaped like a JWT: three base64url parts, the first a JSON header with "alg"."""
    if not value or len(value) > MAX_TOKEN_LENGTH or value.count(".") != 2:
        return False
    header, payload, signature = value.split(".")
    if not header or not payload or not all(BASE64URL.fullmatch(part) for part in (header, payload, signature)):
        return False
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict) and isinstance(decoded.get("alg"), str)


def verify(token: str) -> JobClaims:
    """Return the claims of a job token a trusted issuer signed; raise InvalidJobToken saying why not.

    The header and claims are checked before any key is fetched, so a token that would be refused
    anyway costs no request to the issuer; then the signature, with the issuer's published keys.
    """
    from accounts import jwks

    if not looks_like_jwt(token):
        raise InvalidJobToken("the job token is not a JWT (an OIDC ID token from the CI job was expected)")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise InvalidJobToken(f"the job token can't be read: {exc}")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise InvalidJobToken(f"the job token is signed with {alg!r}; Berth accepts only "
                              f"{' and '.join(ALGORITHMS)} job tokens from CI issuers")
    issuer = _trusted_issuer(unverified.get("iss"))
    _check_claims(unverified, issuer)
    kid = header.get("kid")
    candidates = jwks.signing_keys(issuer, kid if isinstance(kid, str) else None, alg)
    claims = None
    for key in candidates:
        try:
            claims = jwt.decode(token, key=key, algorithms=[alg],
                                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                         "verify_aud": False, "verify_iss": False})
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise InvalidJobToken(f"the job token can't be verified with the keys {issuer.keys_source} "
                                  f"publishes: {exc}")
    if claims is None:
        raise InvalidJobToken(f"the job token's signature does not verify with the keys {issuer.keys_source} publishes")
    return _job_claims(claims, issuer)


def _trusted_issuer(iss) -> Issuer:
    configured = issuers()
    # An exact match: https://x/ and https://x are different issuers unless the configuration says so.
    for issuer in configured:
        if isinstance(iss, str) and iss == issuer.issuer:
            return issuer
    trusted = ", ".join(issuer.issuer for issuer in configured) or "none are configured, see BERTH_CI_ISSUERS"
    if not iss:
        raise InvalidJobToken(f"the job token names no issuer (iss); trusted issuers: {trusted}")
    raise InvalidJobToken(f"the job token's issuer {iss} is not trusted by this registry (trusted: {trusted})")


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S")


def _number(claims: dict, name: str):
    value = claims.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidJobToken(f"the job token's {name!r} claim is not a number of seconds")
    return value


def _check_claims(claims: dict, issuer: Issuer) -> None:
    """Raise InvalidJobToken unless the token is for this registry and valid now (within the leeway)."""
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if issuer.audience not in audiences:
        shown = repr(aud) if aud else "none"
        raise InvalidJobToken(f"the job token is for audience {shown}; this registry expects {issuer.audience!r} "
                              "— request the ID token with that audience")
    leeway = settings.BERTH_CI_LEEWAY_SECONDS
    now = time.time()
    exp, nbf, iat = _number(claims, "exp"), _number(claims, "nbf"), _number(claims, "iat")
    if exp is None:
        raise InvalidJobToken("the job token has no expiry (exp); Berth accepts only short-lived CI job tokens")
    if exp + leeway <= now:
        raise InvalidJobToken(f"the job token expired at {_clock(exp)} UTC; CI job tokens are short-lived, "
                              "request a fresh one")
    if nbf is not None and nbf - leeway > now:
        raise InvalidJobToken(f"the job token is not valid before {_clock(nbf)} UTC; check the clocks of this "
                              "registry and the CI runner")
    if iat is not None and iat - leeway > now:
        raise InvalidJobToken(f"the job token was issued in the future ({_clock(iat)} UTC); check the clocks of "
                              "this registry and the CI runner")
    value = claims.get(issuer.repository_claim)
    if not isinstance(value, str) or not value:
        raise InvalidJobToken(f"the job token has no {issuer.repository_claim!r} claim, which names the repository "
                              f"for {issuer.issuer} (repository_claim in BERTH_CI_ISSUERS)")


def _job_claims(claims: dict, issuer: Issuer) -> JobClaims:
    def text(name: str) -> str:
        value = claims.get(name)
        return "" if value is None else str(value)

    repository = claims[issuer.repository_claim]
    return JobClaims(issuer=issuer.issuer, repository=repository, repository_url=issuer.url_for(repository),
                     ref=text(issuer.ref_claim), sha=text(issuer.sha_claim), workflow=text(issuer.workflow_claim),
                     run_id=text(issuer.run_claim), subject=text("sub"), expires_at=int(claims["exp"]))
