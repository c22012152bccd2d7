"""A pull by tag finds the tag by its package and name, whatever the package's versions and other packages' tags.

Reading every manifest of the package (the fast path's read) or every tag of that name in the
registry (the full stack's) cost a pull time in proportion to them: 10 ms a pull in a package of
5,000 versions. The rows PostgreSQL's executor visits for one lookup (EXPLAIN ANALYZE) show which
way it went; the tables are analyzed and index scans forced, as the planner takes them on a
registry of any real size.
"""

import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import registry_tokens
from registry import prepared as prepared_sql
from registry import selectors
from registry.api import pull
from registry.models import Manifest, Package, Tag
from registry.oci import media_types as mt
from tests.registry.pulls import read

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql(reason="counts the rows PostgreSQL reads")]

VERSIONS = 200


def make_package(name: str, versions: int) -> Package:
    """Create package name with versions manifests, each tagged v<n>."""
    package = Package.objects.create(name=name, namespace=name.split("/")[0])
    manifests = Manifest.objects.bulk_create([
        Manifest(package=package, digest="sha256:" + hashlib.sha256(f"{name}{n}".encode()).hexdigest(),
                 media_type=mt.OCI_MANIFEST, raw=b"{}", size=2)
        for n in range(versions)])
    Tag.objects.bulk_create([Tag(package=package, name=f"v{n}", manifest=manifest)
                             for n, manifest in enumerate(manifests)])
    return package


def rows_visited(sql: str, params: list, *, prepared: bool = False) -> int:
    """Return the tag and manifest rows PostgreSQL's executor visits for sql (as a prepared statement's
    generic plan, as pulls run it, if prepared): each scan's rows, and those its filter threw away."""
    with connection.cursor() as cursor:
        if prepared:
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            cursor.execute(f"PREPARE lookup AS {prepared_sql.numbered(sql)}")
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE lookup ({', '.join(['%s'] * len(params))})",
                           params)
        else:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params or None)
        plan = cursor.fetchone()[0]
        if prepared:
            cursor.execute("DEALLOCATE lookup")
    if isinstance(plan, str):
        plan = json.loads(plan)
    tables = {Tag._meta.db_table, Manifest._meta.db_table}

    def visited(node: dict) -> int:
        own = 0
        if node.get("Relation Name") in tables:
            own = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        return own + sum(visited(child) for child in node.get("Plans", []))

    return visited(plan[0]["Plan"])


@pytest.fixture
def registry():
    """alice/app with many versions, and other packages whose tags have the same names."""
    package = make_package("alice/app", VERSIONS)
    for n in range(3):
        make_package(f"bob/other{n}", VERSIONS)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Tag._meta.db_table}, {Manifest._meta.db_table}, {Package._meta.db_table}")
        cursor.execute("SET LOCAL enable_seqscan = off")
    return package


def test_the_fast_paths_read_goes_from_the_tag_to_its_manifest(registry):
    grant = registry_tokens.RegistryGrant(user_id=None, pat_id=None)
    row = read("alice/app", "v150", grant)
    assert row is not None and row[0].digest == Manifest.objects.get(package=registry, tags__name="v150").digest
    assert rows_visited(pull.read_sql("berth_pull_by_tag"), ["v150", None, "alice/app"], prepared=True) <= 2


def test_the_full_stacks_lookups_go_from_the_tag_to_its_manifest(registry):
    expected = Manifest.objects.get(package=registry, tags__name="v150")
    for lookup in (lambda: selectors.manifest_get(package=registry, reference="v150"),
                   lambda: selectors.manifest_find(name="alice/app", reference="v150")):
        with CaptureQueriesContext(connection) as queries:
            assert lookup() == expected
        (query,) = queries.captured_queries
        assert rows_visited(query["sql"], []) <= 2
