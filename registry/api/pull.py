"""The fast path of a pull: GET or HEAD of a manifest with a Bearer registry token, in front of Django.

Docker asks for manifests far more often than for anything else, and through Django's handler,
DRF and the ORM each one cost several times what the work needs. ManifestPullApp, in front of
Django's WSGI application (config/wsgi.py, unless BERTH_FAST_PULL=false), answers the common case
itself with one SQL statement that reads the token, its user, the package, who holds its
namespace and the manifest. It copies no rule: accounts.tokens.unusable() and use_due() judge
the token as for every request, accounts.access decides (settled_by_holder() picks the packages
answered here, refusal() decides on them), registry.api.manifests says which Accept a manifest
answers and with what headers, and SecurityMiddleware and XFrameOptionsMiddleware add their own
headers. A GET is counted (registry.services.downloads) only once the answer is yes.

A GET is read, decided on, then counted: two statements. A worker remembers the row of its last
yes for that manifest, name and token, and decides the next such GET on it before reading; then
one statement (registry/api/pull_sql.py) reads the row again and counts the pull only if the row
is still the one decided on. A row that changed in between is decided on as read, and counted
on its own if the answer is still yes.

Anything else (no token, a refusal, a missing manifest, an organization's package, a token
whose last use is due to be recorded) goes on to the full stack, which answers exactly as it
always did: this path only ever says yes, and only where the full stack says yes too. Every
entry of settings.MIDDLEWARE must be in MIDDLEWARE below, saying why this path may skip it.
"""

import functools
import json
from datetime import UTC

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, Error, connections
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import access, registry_tokens, tokens
from registry import prepared
from registry.api.base import API_VERSION_HEADER
from registry.api.manifests import ManifestView, accept_header, answerable, manifest_headers
from registry.api.pull_sql import RAW, VERSION, counted_read_sql, read_sql
from registry.models import Manifest, Package
from registry.oci.digests import looks_like_digest, parse_digest
from registry.oci.errors import OCIError
from registry.oci.names import is_valid_tag, validate_name
from registry.services.downloads import download_count, shard

# Each entry of settings.MIDDLEWARE, and why the fast path may answer without running it
# (tests/registry/test_pull_fast_path.py fails when settings.MIDDLEWARE holds anything else, so
# a middleware added later is thought about here before it can be skipped on manifest pulls).
MIDDLEWARE = {
    "django.middleware.security.SecurityMiddleware":
        "borrowed: its process_request runs first (an HTTPS redirect is left to Django) and its "
        "process_response adds its headers to every answer given here",
    "django.middleware.clickjacking.XFrameOptionsMiddleware":
        "borrowed: its process_response adds X-Frame-Options to every answer given here",
    "config.security.ContentSecurityPolicyMiddleware":
        "changes text/html answers only; a manifest never is one",
    "django.contrib.sessions.middleware.SessionMiddleware":
        "writes a cookie or Vary: Cookie only when a view used the session; registry views authenticate "
        "by header and never do",
    "django.middleware.common.CommonMiddleware":
        "redirects only paths that don't resolve (APPEND_SLASH) or with PREPEND_WWW, refuses only "
        "DISALLOWED_USER_AGENTS (both unset) and sets Content-Length, which answers here carry",
    "django.middleware.csrf.CsrfViewMiddleware":
        "checks unsafe methods only and sets its cookie only after get_token(); a pull is a GET or HEAD",
    "django.contrib.auth.middleware.AuthenticationMiddleware":
        "only sets a lazy request.user from the session; registry views authenticate the Bearer token",
    "django.contrib.messages.middleware.MessageMiddleware":
        "stores messages only when a view added some; registry views never do",
    "config.outages.OutageMiddleware":
        "acts only on exceptions; any database error here leaves the request to Django, which meets it",
    "audit.context.RequestContextMiddleware":
        "only remembers who asks, for audit entries a change writes; a pull changes nothing it audits",
}


class ManifestPullApp:
    """Answer manifest pulls with a registry token in front of Django (see the module docstring).

    config/wsgi.py wraps Django's WSGI application in this. Anything answer() leaves alone goes
    to that application, unchanged.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        response = answer(environ)
        if response is None:
            return self.application(environ, start_response)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [response.content]


def answer(environ) -> HttpResponse | None:
    """Return the response to the request environ describes if the fast path can give it, else None."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or "/manifests/" not in environ.get("PATH_INFO", ""):
        return None
    header = environ.get("HTTP_AUTHORIZATION", "").split()
    if len(header) != 2 or header[0].lower() != "bearer":
        return None
    request = WSGIRequest(environ)
    security, clickjacking = borrowed_middleware()
    if security.process_request(request) is not None:
        return None  # an HTTPS redirect: the full stack gives it
    db = connections[DEFAULT_DB_ALIAS]
    # What Django's request_started and request_finished signals do for the one connection used here.
    _close_if_unusable(db)
    # CONN_HEALTH_CHECKS would spend a round trip on SELECT 1 before the read here. A connection
    # a PostgreSQL restart broke fails the read instead: it is closed below, and the full stack
    # answers on a new connection (or with the 503 of an outage), counting the pull if it answers.
    db.health_check_done = True
    try:
        response = pull(request, header[1], db)
    except Error:
        # Whatever went wrong (InterfaceError included), the full stack meets it too and answers
        # as it always does.
        _close_if_unusable(db)
        return None
    _close_if_unusable(db)
    if response is not None:
        # The headers the middleware before the views add to every answer (settings.MIDDLEWARE).
        response = security.process_response(request, clickjacking.process_response(request, response))
    return response


def _unused(request):
    raise AssertionError("the fast path only borrows the middleware's process_request and process_response")


# Made once, as Django's handler makes its middleware once: their __init__ reads a dozen settings,
# which cost more than the rest of their work. Made again when a test changes a setting.
_borrowed: tuple[SecurityMiddleware, XFrameOptionsMiddleware] | None = None


def borrowed_middleware() -> tuple[SecurityMiddleware, XFrameOptionsMiddleware]:
    """Return the SecurityMiddleware and XFrameOptionsMiddleware whose hooks the fast path runs."""
    global _borrowed
    borrowed = _borrowed
    if borrowed is None:
        borrowed = _borrowed = SecurityMiddleware(_unused), XFrameOptionsMiddleware(_unused)
    return borrowed


def _forget_middleware(**kwargs) -> None:
    global _borrowed
    _borrowed = None


setting_changed.connect(_forget_middleware)


def _close_if_unusable(db) -> None:
    # Never inside a transaction (tests run in one): closing would end it.
    if not db.in_atomic_block:
        db.close_if_unusable_or_obsolete()


# What resolve() made of recent paths: (name, reference) of a manifest route, or None. Pulls
# repeat the same few paths, and resolving them was a tenth of the fast path's time.
ROUTES_LIMIT = 4096
_routes: dict[tuple[str, str], tuple[str, str] | None] = {}


def manifest_route(path: str) -> tuple[str, str] | None:
    """Return (name, reference) if the URLconf sends path to ManifestView, else None."""
    key = (settings.ROOT_URLCONF, path)
    try:
        return _routes[key]
    except KeyError:
        pass
    try:
        match = resolve(path)
    except Resolver404:
        route = None
    else:
        route = None
        if getattr(match.func, "view_class", None) is ManifestView:
            route = match.kwargs["name"], match.kwargs["reference"]
    if len(_routes) >= ROUTES_LIMIT:
        _routes.clear()
    _routes[key] = route
    return route


def pull(request, token: str, db) -> HttpResponse | None:
    """Return the answer to a manifest pull the fast path can give, or None to leave it to the full stack."""
    route = manifest_route(request.path_info)
    if route is None:
        return None
    name, reference = route
    try:
        validate_name(name)
        grant = registry_tokens.verify(token)
    except (OCIError, registry_tokens.InvalidRegistryToken):
        return None
    if "pull" not in grant.actions(name):
        return None
    if grant.job is not None:
        # A CI job's token is judged by its repository's current row (removed: refused at once),
        # which only the full stack reads.
        return None
    statement = read_statement(reference)
    if statement is None:
        return None
    key = (statement, name, reference, grant.pat_id)
    get = request.method == "GET"
    seen = _answered.get(key) if get else None
    manifest = decide(request, name, reference, grant, db, seen) if seen is not None else None
    if manifest is not None:
        # Decided on the row of the last yes; the statement reads the row again and counts the
        # pull only if it is still that row (same version). Otherwise nothing was counted, and
        # the row read is decided on below, as for a first pull.
        row = fetch(db, statement, name, reference, grant.pat_id, counting=seen[VERSION])
        if row is not None and row[VERSION] == seen[VERSION]:
            manifest.raw = row[RAW]
            return respond(manifest, get)
    else:
        row = fetch(db, statement, name, reference, grant.pat_id)
    manifest = decide(request, name, reference, grant, db, row) if row is not None else None
    if manifest is None:
        _answered.pop(key, None)
        return None
    if get:
        # Counted once the answer is yes, as ManifestView.get() counts (HEAD is no pull).
        download_count(manifest=manifest)
        remember(key, row)
    return respond(manifest, get)


def respond(manifest: Manifest, get: bool) -> HttpResponse:
    """Return the answer to a GET (with the manifest) or a HEAD of manifest."""
    response = HttpResponse(bytes(manifest.raw), content_type=manifest.media_type) if get else HttpResponse()
    for key, value in manifest_headers(manifest).items():
        response[key] = value
    response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    response["Allow"] = ALLOW
    return response


ALLOW = ", ".join(ManifestView().allowed_methods)


def serves(request, name: str, reference: str, manifest: Manifest, package: Package, caller) -> bool:
    """Return True if the fast path answers this pull, False to leave it to the full stack."""
    if caller is None or not access.settled_by_holder(caller.user, package):
        return False
    if access.refusal(request, caller, name, "pull", package) is not None:
        return False
    return answerable(reference, accept_header(request), manifest.media_type)


def decide(request, name: str, reference: str, grant: registry_tokens.RegistryGrant, db, row) -> Manifest | None:
    """Return the manifest of row if the fast path answers this pull with it, None to leave it to the full stack."""
    manifest, package, caller = build(row, grant, db)
    return manifest if serves(request, name, reference, manifest, package, caller) else None


# The rows recent GETs were answered yes on, without the manifest's bytes, by statement, name,
# reference and personal access token. pull() decides a GET whose row is here before reading
# anything, then reads and counts in one statement; a row that changed since (a revoked token, a
# moved tag, a new visibility) has another version, and nothing is counted until it is decided on.
# Which worker answers makes no difference to the answer, only to the statements it takes.
ANSWERED_LIMIT = 4096
_answered: dict[tuple, tuple] = {}


def remember(key: tuple, row: tuple) -> None:
    if row[VERSION] is None:
        return  # no versions on this database: every pull is read, decided and then counted
    if len(_answered) >= ANSWERED_LIMIT:
        _answered.clear()
    _answered[key] = row[:RAW] + (None, row[VERSION])


def read_statement(reference: str) -> str | None:
    """Return the name of the statement that reads a manifest by reference, None if reference is neither."""
    if looks_like_digest(reference):
        try:
            parse_digest(reference)
        except OCIError:
            return None
        return "berth_pull_by_digest"
    return "berth_pull_by_tag" if is_valid_tag(reference) else None


def fetch(db, statement: str, name: str, reference: str, pat_id: int | None,
          counting: str | None = None) -> tuple | None:
    """Return the row statement reads for a manifest of package name by reference, None if there is none.

    pat_id is the registry token's personal access token (None for an anonymous one). With
    counting (a version), the same statement also counts the pull if the row read has that version.
    """
    params = [reference, pat_id, name]
    with db.cursor() as cursor:
        if counting is None:
            prepared.execute(cursor, statement, read_sql(statement, db.vendor), params)
        else:
            prepared.execute(cursor, f"{statement}_counted", counted_read_sql(statement, db.vendor),
                             [*params, shard(), counting])
        return cursor.fetchone()


def build(row: tuple, grant: registry_tokens.RegistryGrant, db):
    """Return (manifest, package, caller) of a row the read statement returned.

    package carries what access.holder_annotations() reads. caller is None when the personal
    access token is unusable (the full stack says why) or its use is due to be recorded.
    """
    (manifest_id, digest, media_type, size, package_id, name, namespace, visibility,
     holder_id, holder_user_id, holder_organization_id,
     token_id, scopes, revoked_at, expires_at, last_used_at, user_id, username, user_active, raw, _) = row
    manifest = loaded(Manifest, db.alias, {"id": manifest_id, "package_id": package_id, "digest": digest,
                                           "media_type": media_type, "raw": raw, "size": size})
    package = loaded(Package, db.alias, {"id": package_id, "name": name, "namespace": namespace,
                                         "visibility": visibility})
    package.holder_found = holder_id is not None
    package.holder_user_id, package.holder_organization_id = holder_user_id, holder_organization_id
    if grant.pat_id is None:
        return manifest, package, access.token_caller(AnonymousUser(), None, grant)
    now = timezone.now()
    if token_id is None or tokens.unusable(revoked_at=revoked_at, expires_at=_datetime(expires_at),
                                           user_is_active=bool(user_active), now=now) is not None:
        return manifest, package, None
    if tokens.use_due(_datetime(last_used_at), now):
        return manifest, package, None
    if isinstance(scopes, str):
        scopes = scopes_of(scopes)
    user_model = user_model_named(settings.AUTH_USER_MODEL)
    user = loaded(user_model, db.alias, {user_model._meta.pk.attname: user_id, user_model.USERNAME_FIELD: username,
                                         "is_active": True})
    return manifest, package, access.token_caller(user, scopes, grant)


@functools.lru_cache(maxsize=1024)
def scopes_of(text: str) -> tuple[str, ...]:
    """Return the scopes a token's scopes column holds as JSON text (SQLite's and PostgreSQL's jsonb alike)."""
    return tuple(json.loads(text))


@functools.cache
def user_model_named(name: str):
    """Return the user model called name, as get_user_model() does for settings.AUTH_USER_MODEL on every call."""
    return apps.get_model(name, require_ready=False)


def loaded(model, alias: str, values: dict):
    """Return what model.from_db() makes of these field values read from alias: them set, every other field deferred.

    A deferred field is read on first use, never a default that may not be the row's. from_db()
    runs Model.__init__, which walks every field of the model and sends pre_init and post_init;
    that was a third of build(). A model with receivers of those goes through from_db().
    """
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        fields = [field.attname for field in model._meta.concrete_fields if field.attname in values]
        return model.from_db(alias, fields, [values[field] for field in fields])
    instance = model.__new__(model)
    instance.__dict__.update(values)
    state = instance._state = ModelState()
    state.adding, state.db = False, alias
    return instance


def _datetime(value):
    """Return a timestamp column as an aware datetime (SQLite hands back UTC as naive values or text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)
