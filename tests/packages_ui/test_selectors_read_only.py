"""packages_ui.selectors only read; the views fold download counts before showing them."""

from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from packages_ui import presentation, selectors
from registry.models import Package, PullCount
from tests.registry.helpers import OWNER, push_image

WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_selectors_write_nothing_even_with_pulls_waiting_to_be_folded(api, alice):
    push_image(api, "v1", name=f"{OWNER}/app")
    assert api.get(f"/v2/{OWNER}/app/manifests/v1").status_code == 200
    assert PullCount.objects.exists()
    request = RequestFactory().get("/")
    request.user = alice
    package = Package.objects.get(name=f"{OWNER}/app")
    with CaptureQueriesContext(connection) as queries:
        list(selectors.package_list(request=request, owner=OWNER))
        assert selectors.package_for_page(request=request, name=package.name) == package
        top_level = presentation.version_tree(*selectors.version_rows(package=package))
        selectors.manifest_raw(top_level[0].manifest)
        selectors.deleted_versions(package=package)
        selectors.deleted_packages(request=request, owner=OWNER)
        selectors.grants(package=package)
    assert _writes(queries.captured_queries) == []
    assert PullCount.objects.exists()  # nothing folded by a read


def test_the_package_page_shows_pulls_counted_since_the_last_fold(api, alice, browser_for):
    push_image(api, "v1", name=f"{OWNER}/app")
    for _ in range(3):
        assert api.get(f"/v2/{OWNER}/app/manifests/v1").status_code == 200
    page = browser_for(alice).get(f"/{OWNER}/packages/container/app")
    assert page.status_code == 200
    assert Package.objects.get(name=f"{OWNER}/app").downloads == 3
    assert not PullCount.objects.exists()
    listing = browser_for(alice).get(f"/{OWNER}/packages")
    assert b"3 downloads" in listing.content
