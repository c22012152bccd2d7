"""CI issuers' signing keys: fetched from their JWKS and cached in the database for every worker and server.

A process-local state must not make a request on another worker cost more, so the cache is one
IssuerKeySet row per issuer, with a memo of a few seconds on top. Keys are fetched again when older
than BERTH_CI_JWKS_TTL, and when a token names a key id the cached set lacks (a rotation), but at most
once per BERTH_CI_JWKS_REFETCH_SECONDS per issuer across all processes: anyone can send tokens with
made-up key ids, and they must not turn Berth into a fetch loop against the issuer.
"""

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import IssuerKeySet
from accounts.oidc import LOOPBACK, InvalidJobToken, Issuer, KeysUnavailable

logger = logging.getLogger(__name__)

# Seconds to connect and between bytes: an issuer that hangs must not hold a request for long.
TIMEOUT = 5
MEMO_SECONDS = 10
# Real key sets are a few kilobytes; anything far bigger is not a key set.
MAX_DOCUMENT = 1024 * 1024
KEY_TYPES = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}

# issuer -> (time.monotonic() when remembered, jwks, fetched_at)
_memo: dict[str, tuple[float, dict, datetime]] = {}


def clear_memo() -> None:
    """Forget the keys this process remembers, so the next lookup reads the database."""
    _memo.clear()


def signing_keys(issuer: Issuer, kid: str | None, alg: str) -> list[jwt.PyJWK]:
    """Return the issuer's keys that may have signed a token with this kid and alg.

    Raise InvalidJobToken if the issuer publishes no such key, KeysUnavailable if its keys can't be had.
    """
    if issuer.jwks_file:
        jwks = _read_file(issuer)
        return _matching(jwks, kid, alg, issuer) or _refuse_unknown(jwks, kid, alg, issuer)
    jwks, fetched_at = _current(issuer)
    keys = _matching(jwks, kid, alg, issuer)
    if not keys and kid is not None:
        jwks = _after_unknown_kid(issuer, fetched_at)
        keys = _matching(jwks, kid, alg, issuer)
    return keys or _refuse_unknown(jwks, kid, alg, issuer)


def _current(issuer: Issuer) -> tuple[dict, datetime]:
    """Return the cached key set and when it was fetched, fetching it first if it is missing or stale."""
    memo = _memo.get(issuer.issuer)
    if memo and time.monotonic() - memo[0] < MEMO_SECONDS and _fresh(memo[2]):
        return memo[1], memo[2]
    row, _ = IssuerKeySet.objects.get_or_create(issuer=issuer.issuer)
    if row.fetched_at is None or not _fresh(row.fetched_at):
        # The very first fetch skips the gate unless it just failed: every worker's first token would
        # otherwise get a 503 while one of them fetches.
        first = row.fetched_at is None and not row.error
        row = _fetch(issuer, row, gate=None if first else "attempted_at")
    if row.fetched_at is None:
        raise KeysUnavailable(f"the signing keys of {issuer.issuer} can't be fetched: "
                              f"{row.error or 'another server is fetching them'}; try again shortly")
    if not _fresh(row.fetched_at):
        logger.warning("using the keys of %s fetched at %s: %s", issuer.issuer, row.fetched_at, row.error)
    _memo[issuer.issuer] = (time.monotonic(), row.jwks, row.fetched_at)
    return row.jwks, row.fetched_at


def _after_unknown_kid(issuer: Issuer, seen_fetched_at: datetime) -> dict:
    """Return the key set to look an unknown key id up in again: fetched anew unless that is rate-limited."""
    row = IssuerKeySet.objects.get(issuer=issuer.issuer)
    # Unless another process fetched them since this one last looked:
    if row.fetched_at is None or row.fetched_at <= seen_fetched_at:
        row = _fetch(issuer, row, gate="refetched_at")
        if row.error:
            # The token may well be signed with a key we can't see yet: not the token's fault.
            raise KeysUnavailable(f"the job token names a key {issuer.issuer} did not publish when last fetched, "
                                  f"and its keys can't be fetched again now: {row.error}; try again shortly")
    _memo[issuer.issuer] = (time.monotonic(), row.jwks, row.fetched_at)
    return row.jwks


def _fresh(fetched_at: datetime) -> bool:
    return timezone.now() - fetched_at < timedelta(seconds=settings.BERTH_CI_JWKS_TTL)


def _fetch(issuer: Issuer, row: IssuerKeySet, *, gate: str | None) -> IssuerKeySet:
    """Fetch the issuer's keys into row unless the gate time is less than REFETCH seconds ago (None: no gate).

    Return the row as the database now holds it.
    """
    now = timezone.now()
    rows = IssuerKeySet.objects.filter(pk=row.pk)
    if gate:
        since = now - timedelta(seconds=settings.BERTH_CI_JWKS_REFETCH_SECONDS)
        rows = rows.filter(Q(**{f"{gate}__isnull": True}) | Q(**{f"{gate}__lte": since}))
    # One conditional UPDATE decides which process fetches: the database is the only state they share.
    if rows.update(**{"attempted_at": now, gate or "attempted_at": now}):
        try:
            jwks = _download(issuer)
        except KeysUnavailable as exc:
            logger.warning("can't fetch the signing keys of %s: %s", issuer.issuer, exc)
            IssuerKeySet.objects.filter(pk=row.pk).update(error=str(exc))
        else:
            IssuerKeySet.objects.filter(pk=row.pk).update(jwks=jwks, fetched_at=timezone.now(), error="")
    row.refresh_from_db()
    return row


def _download(issuer: Issuer) -> dict:
    """Return the issuer's JWKS from its jwks_uri, or the one its discovery document names."""
    uri = issuer.jwks_uri
    if not uri:
        discovery_url = issuer.issuer.rstrip("/") + "/.well-known/openid-configuration"
        discovery = _get_json(discovery_url)
        if discovery.get("issuer") != issuer.issuer:
            raise KeysUnavailable(f"{discovery_url} names the issuer {discovery.get('issuer')!r}, "
                                  f"not {issuer.issuer!r}")
        uri = discovery.get("jwks_uri")
        url = urlsplit(uri) if isinstance(uri, str) else None
        if url is None or not (url.scheme == "https" or (url.scheme == "http" and url.hostname in LOOPBACK)):
            raise KeysUnavailable(f"{discovery_url} names no https:// jwks_uri")
    keys = _get_json(uri).get("keys")
    if not isinstance(keys, list):
        raise KeysUnavailable(f"{uri} is not a JWKS (no \"keys\" list)")
    return {"keys": [key for key in keys if isinstance(key, dict)]}


def _get_json(url: str) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body = response.read(MAX_DOCUMENT + 1)
    except urllib.error.HTTPError as exc:
        raise KeysUnavailable(f"{url} answered {exc.code}")
    except urllib.error.URLError as exc:
        raise KeysUnavailable(f"{url} can't be reached ({exc.reason})")
    except (OSError, http.client.HTTPException) as exc:
        raise KeysUnavailable(f"{url} can't be reached ({type(exc).__name__}: {exc})")
    if len(body) > MAX_DOCUMENT:
        raise KeysUnavailable(f"{url} answered more than {MAX_DOCUMENT} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        raise KeysUnavailable(f"{url} did not answer JSON")
    if not isinstance(document, dict):
        raise KeysUnavailable(f"{url} did not answer a JSON object")
    return document


def _read_file(issuer: Issuer) -> dict:
    try:
        jwks = json.loads(Path(issuer.jwks_file).read_text())
    except (OSError, ValueError) as exc:
        raise KeysUnavailable(f"the JWKS file {issuer.jwks_file} of {issuer.issuer} can't be read: {exc}")
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise KeysUnavailable(f"the JWKS file {issuer.jwks_file} of {issuer.issuer} has no \"keys\" list")
    return jwks


def _matching(jwks: dict, kid: str | None, alg: str, issuer: Issuer) -> list[jwt.PyJWK]:
    """Return the keys of jwks with this kid (any, if None) that can verify alg."""
    found = []
    for jwk in jwks.get("keys", ()):
        if not isinstance(jwk, dict) or (kid is not None and jwk.get("kid") != kid):
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        if (jwk.get("kty"), jwk.get("crv")) != KEY_TYPES[alg] or jwk.get("alg", alg) != alg:
            if kid is not None:
                kind = jwk.get("alg") or f"{jwk.get('kty')} key"
                raise InvalidJobToken(f"the job token says {alg}, but key {kid!r} of {issuer.keys_source} is "
                                      f"for {kind}; its signature can't verify")
            continue
        try:
            found.append(jwt.PyJWK(jwk, algorithm=alg))
        except jwt.PyJWTError as exc:
            logger.warning("skipping a key %s publishes: %s", issuer.keys_source, exc)
    return found


def _refuse_unknown(jwks: dict, kid: str | None, alg: str, issuer: Issuer):
    kids = [str(jwk.get("kid")) for jwk in jwks.get("keys", ()) if isinstance(jwk, dict) and jwk.get("kid")]
    if kid is None:
        raise InvalidJobToken(f"the job token names no key id and {issuer.keys_source} publishes no {alg} key")
    raise InvalidJobToken(f"the job token was signed with key {kid!r}, which {issuer.keys_source} does not publish "
                          f"(it publishes {', '.join(kids) or 'no keys'})")
