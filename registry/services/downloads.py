"""Download counts: a pull adds one to its shard's PullCount row; pages fold the rows into the counters.

Counting straight into Manifest.downloads and Package.downloads made every GET of a popular
image update the same two rows, and concurrent pulls queued on their locks: the manifest GET
benchmark served a third fewer requests with counting on. A pull now upserts the row of its
manifest and its thread's shard (one statement, no row shared between a worker's threads), and
download_fold() moves what the rows hold into the two counters just before anything reads them:
the package pages, gc. Nothing is kept in a worker's memory, so no count is lost when one stops.
"""

import functools
import itertools
import os
import threading
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from registry import prepared
from registry.models import Manifest, ManifestReference, Package, PullCount

# Far more shards than all workers have threads: a process starts at a random shard and its
# threads take the ones after it, so concurrent pulls (of any worker or app server) rarely share a
# row and a worker's threads never do. Starting at the pid put consecutive pids' threads on the
# same few rows.
SHARDS = 1024

_threads = itertools.count()
_local = threading.local()
_first: tuple[int, int] | None = None  # (pid, this process's first shard)


def shard() -> int:
    """Return this thread's shard: the same for its life, different from its sibling threads'."""
    number = getattr(_local, "shard", None)
    if number is None:
        number = _local.shard = (_first_shard() + next(_threads)) % SHARDS
    return number


def _first_shard() -> int:
    global _first
    pid = os.getpid()
    if _first is None or _first[0] != pid:  # a forked worker draws its own
        _first = pid, int.from_bytes(os.urandom(2), "big") % SHARDS
    return _first[1]


def download_count(*, manifest: Manifest) -> None:
    """Count a pull of manifest, and of its package unless an index in the package names it.

    Callers count after deciding to answer (ManifestView.get(), registry/api/pull.py), never in
    advance, so nothing is ever taken back. One upsert into the row of manifest and this
    thread's shard; a platform of a multi-arch pull adds nothing to the package's count.
    """
    pull = ("SELECT CAST(%s AS bigint) AS package_id, CAST(%s AS bigint) AS manifest_id, "
            "CAST(%s AS text) AS digest, CAST(%s AS smallint) AS shard")
    with connection.cursor() as cursor:
        prepared.execute(cursor, "berth_count_download", count_sql(pull),
                         [manifest.package_id, manifest.pk, manifest.digest, shard()])


@functools.cache
def count_sql(pulls: str) -> str:
    """Return the upsert that counts one pull for each row of the query pulls.

    pulls yields package_id, manifest_id, digest and shard: download_count() gives one row, and
    the fast path's read (registry/api/pull.py) the row it read when that is the row it decided on.
    """
    table = PullCount._meta.db_table
    # WHERE true: SQLite reads ON after a FROM as a join's condition, not as the upsert's clause.
    return f"""
        INSERT INTO {table} (package_id, manifest_id, shard, pulls, package_pulls, pulled_at)
        SELECT pull.package_id, pull.manifest_id, pull.shard, 1, CASE WHEN EXISTS (
            SELECT 1 FROM {ManifestReference._meta.db_table} r
            JOIN {Manifest._meta.db_table} parent ON parent.id = r.manifest_id
            WHERE parent.package_id = pull.package_id AND r.digest = pull.digest
              AND r.kind = '{ManifestReference.Kind.MANIFEST.value}'
        ) THEN 0 ELSE 1 END, CURRENT_TIMESTAMP
        FROM ({pulls}) pull WHERE true
        ON CONFLICT (manifest_id, shard) DO UPDATE
        SET pulls = {table}.pulls + excluded.pulls, package_pulls = {table}.package_pulls + excluded.package_pulls,
            pulled_at = excluded.pulled_at
    """


@transaction.atomic
def download_fold(*, packages=None) -> None:
    """Add the pulls counted since the last fold to Manifest.downloads and Package.downloads.

    packages (a queryset or a list of ids) limits the fold to those packages. Rows another fold
    is working on are skipped rather than waited for: that fold is about to commit them.
    """
    rows = PullCount.objects.select_for_update(skip_locked=True)
    if packages is not None:
        rows = rows.filter(package__in=packages)
    rows = list(rows.values_list("id", "package_id", "manifest_id", "pulls", "package_pulls", "pulled_at"))
    if not rows:
        return
    per_manifest: dict[int, int] = {}
    per_package: dict[int, int] = {}
    last_pull: dict[int, datetime] = {}
    for _, package_id, manifest_id, pulls, package_pulls, pulled_at in rows:
        if manifest_id is not None:
            per_manifest[manifest_id] = per_manifest.get(manifest_id, 0) + pulls
            if pulled_at is not None and (manifest_id not in last_pull or pulled_at > last_pull[manifest_id]):
                last_pull[manifest_id] = pulled_at
        per_package[package_id] = per_package.get(package_id, 0) + package_pulls
    for manifest_id, pulls in per_manifest.items():
        # The rows hold only pulls since the last fold, so their latest is the manifest's latest.
        Manifest.objects.filter(pk=manifest_id).update(downloads=F("downloads") + pulls,
                                                       pulled_at=last_pull.get(manifest_id, F("pulled_at")))
    for package_id, pulls in per_package.items():
        if pulls:
            Package.all_objects.filter(pk=package_id).update(downloads=F("downloads") + pulls)
    PullCount.objects.filter(pk__in=[row[0] for row in rows]).delete()
