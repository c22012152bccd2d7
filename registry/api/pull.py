"""The fast path of a pull: GET or HEAD of a manifest with a Bearer registry token, in one query.

Docker asks for manifests far more often than for anything else, and through DRF and the ORM
each one cost five times what the work needs. ManifestPullMiddleware answers the common case
itself: a valid registry token granting pull on the repository, its personal access token
still usable (read again on every request, so revocation works at once), and a package the
caller owns or that is public. One SQL statement reads the token, its user, the package, who
holds its namespace and the manifest; accounts.access.refusal() decides as it does for every
request; a GET is then counted in one more statement.

Anything else (no token, a refusal, a missing manifest, an organization's package, a token
whose last use is due to be recorded) goes on to the full stack, which answers exactly as it
always did: this path only ever says yes, and only where the full stack says yes too.
"""

import json
from datetime import UTC

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import access, registry_tokens
from accounts.models import Namespace, PersonalAccessToken
from accounts.tokens import LAST_USED_RESOLUTION, scope_actions
from registry import prepared
from registry.api.base import API_VERSION_HEADER
from registry.api.manifests import ManifestView, accepts, manifest_headers
from registry.models import Manifest, Package, Tag, Visibility
from registry.oci.digests import looks_like_digest, parse_digest
from registry.oci.errors import OCIError
from registry.oci.names import is_valid_tag, validate_name
from registry.services.downloads import download_count


class ManifestPullMiddleware:
    """Answer manifest pulls with a registry token without DRF (see the module docstring).

    It sits after the middleware that add headers to every answer (security, X-Frame-Options) and
    before those only pages need, which these answers never touch.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD") and "/manifests/" in request.path_info:
            response = pull(request)
            if response is not None:
                return response
        return self.get_response(request)


def pull(request) -> HttpResponse | None:
    """Return the answer to a manifest pull the fast path can give, or None to leave it to the full stack."""
    header = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(header) != 2 or header[0].lower() != "bearer":
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if getattr(match.func, "view_class", None) is not ManifestView:
        return None
    name, reference = match.kwargs["name"], match.kwargs["reference"]
    try:
        validate_name(name)
        grant = registry_tokens.verify(header[1])
    except (OCIError, registry_tokens.InvalidRegistryToken):
        return None
    if "pull" not in grant.actions(name):
        return None
    row = read(name, reference, grant)
    if row is None:
        return None
    manifest, package, caller = row
    if caller is None:
        return None
    if not (package.visibility == Visibility.PUBLIC or not package.holder_found
            or (caller.user.is_authenticated and package.holder_user_id == caller.user.pk)):
        # Organization packages and grants need more reads: the full stack does them.
        return None
    if access.refusal(request, caller, name, "pull", package) is not None:
        return None
    if not looks_like_digest(reference) and not accepts(", ".join(request.META.get("HTTP_ACCEPT", "").split("\n")),
                                                        manifest.media_type):
        return None
    if request.method == "GET":
        download_count(manifest=manifest)
        response = HttpResponse(bytes(manifest.raw), content_type=manifest.media_type)
    else:
        response = HttpResponse()
    for key, value in manifest_headers(manifest).items():
        response[key] = value
    response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    response["Allow"] = ALLOW
    return response


ALLOW = ", ".join(ManifestView().allowed_methods)


def read(name: str, reference: str, grant: registry_tokens.RegistryGrant):
    """Return (manifest, package, caller) for a live manifest of package name, None if there is none.

    caller is None when the personal access token is unusable or its use is due to be recorded.
    """
    pat_id = grant.pat_id
    if looks_like_digest(reference):
        try:
            parse_digest(reference)
        except OCIError:
            return None
        which = "m.digest = %s"
    elif is_valid_tag(reference):
        which = f"EXISTS (SELECT 1 FROM {Tag._meta.db_table} g WHERE g.manifest_id = m.id AND g.name = %s)"
    else:
        return None
    user_model = get_user_model()
    now = timezone.now()
    sql = f"""
        SELECT m.id, m.digest, m.media_type, m.size, m.raw,
               p.id, p.namespace, p.visibility,
               h.id, h.user_id, h.organization_id,
               t.id, t.scopes, t.revoked_at, t.expires_at, t.last_used_at,
               u.{user_model._meta.pk.column}, u.{user_model._meta.get_field(user_model.USERNAME_FIELD).column},
               u.is_active
        FROM {Package._meta.db_table} p
        JOIN {Manifest._meta.db_table} m ON m.package_id = p.id AND m.deleted_at IS NULL AND {which}
        LEFT JOIN {Namespace._meta.db_table} h ON h.name = p.namespace
        LEFT JOIN {PersonalAccessToken._meta.db_table} t ON t.id = %s
        LEFT JOIN {user_model._meta.db_table} u ON u.{user_model._meta.pk.column} = t.user_id
        WHERE p.name = %s AND p.deleted_at IS NULL
    """
    with connection.cursor() as cursor:
        prepared.execute(cursor, "berth_pull_by_digest" if which.startswith("m.") else "berth_pull_by_tag",
                         sql, [reference, pat_id, name])
        row = cursor.fetchone()
    if row is None:
        return None
    (manifest_id, digest, media_type, size, raw, package_id, namespace, visibility,
     holder_id, holder_user_id, holder_organization_id,
     token_id, scopes, revoked_at, expires_at, last_used_at, user_id, username, user_active) = row
    manifest = Manifest(id=manifest_id, package_id=package_id, digest=digest, media_type=media_type, size=size,
                        raw=raw)
    package = Package(id=package_id, name=name, namespace=namespace, visibility=visibility)
    package.holder_found = holder_id is not None
    package.holder_user_id, package.holder_organization_id = holder_user_id, holder_organization_id
    if pat_id is None:
        return manifest, package, access.Caller(AnonymousUser(), frozenset({"pull"}), grant, True)
    if token_id is None or not user_active or revoked_at is not None:
        return manifest, package, None
    expires_at, last_used_at = _datetime(expires_at), _datetime(last_used_at)
    if (expires_at is not None and expires_at <= now) or last_used_at is None \
            or now - last_used_at >= LAST_USED_RESOLUTION:
        return manifest, package, None
    if isinstance(scopes, str):
        scopes = json.loads(scopes)
    user = user_model(pk=user_id, is_active=True, **{user_model.USERNAME_FIELD: username})
    return manifest, package, access.Caller(user, frozenset(scope_actions(scopes)), grant, True)


def _datetime(value):
    """Return a timestamp column as an aware datetime (SQLite hands back UTC as naive values or text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)
