"""The statements the manifest pull fast path (registry/api/pull.py) reads with.

One statement reads the manifest, its package, who holds the package's namespace, the personal
access token and its user. The columns: the manifest (id, digest, media type, size), the package
(id, name, namespace, visibility), the holder (namespace id, user id, organization id), the token
(id, scopes, revoked, expires, last used) and its user (id, username, active), then the
manifest's bytes and the row's version: on PostgreSQL an md5 of every column before the bytes
(a manifest's bytes are its digest's), elsewhere NULL.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections

from accounts.models import Namespace, PersonalAccessToken
from registry.models import Manifest, Package, Tag
from registry.services.downloads import count_sql

# Where each column of the row is (pull.py reads the bytes and the version by position).
RAW, VERSION = -2, -1

# The statements, per statement name, user model, database vendor and whether it counts;
# assembling one took a tenth of a read, and finding the user model class a fiftieth.
_statements: dict[tuple, str] = {}


def read_sql(statement: str, vendor: str | None = None) -> str:
    """Return the SQL of the read statement called statement (by digest or by tag) on the default database."""
    return _sql(statement, vendor or connections[DEFAULT_DB_ALIAS].vendor, counted=False)


def counted_read_sql(statement: str, vendor: str | None = None) -> str:
    """Return read_sql(statement) that also counts the pull when the row it reads has a given version.

    Its parameters are read_sql's, then the pull's shard and the version (PostgreSQL only: a
    data-modifying WITH). It counts as registry.services.downloads.download_count() does.
    """
    return _sql(statement, vendor or connections[DEFAULT_DB_ALIAS].vendor, counted=True)


def _sql(statement: str, vendor: str, counted: bool) -> str:
    key = (statement, settings.AUTH_USER_MODEL, vendor, counted)
    try:
        return _statements[key]
    except KeyError:
        pass
    sql = _read(statement, get_user_model(), vendor)
    if counted:
        pulls = "SELECT package_id, manifest_id, digest, CAST(%s AS smallint) AS shard FROM pulled WHERE version = %s"
        sql = f"WITH pulled AS ({sql}), counted AS ({count_sql(pulls)}) SELECT * FROM pulled"
    _statements[key] = sql
    return sql


def _read(statement: str, user_model, vendor: str) -> str:
    if statement == "berth_pull_by_digest":
        manifest = f"JOIN {Manifest._meta.db_table} m ON m.package_id = p.id AND m.digest = %s AND m.deleted_at IS NULL"
    else:
        # From the tag (one row by its unique package and name) to its manifest: a condition on the
        # manifests instead had PostgreSQL look at every live manifest of the package for the tag,
        # 10 ms a pull in a package of 5,000 versions.
        manifest = f"""JOIN {Tag._meta.db_table} g ON g.package_id = p.id AND g.name = %s
        JOIN {Manifest._meta.db_table} m ON m.id = g.manifest_id AND m.package_id = p.id AND m.deleted_at IS NULL"""
    user_id = f"u.{user_model._meta.pk.column}"
    columns = {
        "manifest_id": "m.id", "digest": "m.digest", "media_type": "m.media_type", "size": "m.size",
        "package_id": "p.id", "name": "p.name", "namespace": "p.namespace", "visibility": "p.visibility",
        "holder_id": "h.id", "holder_user_id": "h.user_id", "organization_id": "h.organization_id",
        "token_id": "t.id", "scopes": "t.scopes", "revoked_at": "t.revoked_at", "expires_at": "t.expires_at",
        "last_used_at": "t.last_used_at", "user_id": user_id,
        "username": f"u.{user_model._meta.get_field(user_model.USERNAME_FIELD).column}", "is_active": "u.is_active",
    }
    version = f"md5(ROW({', '.join(columns.values())})::text)" if vendor == "postgresql" else "NULL"
    select = ", ".join(f"{column} AS {alias}" for alias, column in columns.items())
    return f"""
        SELECT {select}, m.raw, {version} AS version
        FROM {Package._meta.db_table} p
        {manifest}
        LEFT JOIN {Namespace._meta.db_table} h ON h.name = p.namespace
        LEFT JOIN {PersonalAccessToken._meta.db_table} t ON t.id = %s
        LEFT JOIN {user_model._meta.db_table} u ON {user_id} = t.user_id
        WHERE p.name = %s AND p.deleted_at IS NULL
    """
