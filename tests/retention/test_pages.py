"""The package settings page shows the retention policy, a preview of its next run, and who deleted what."""

from datetime import timedelta

import pytest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from packages_ui import presentation
from packages_ui import selectors as page_selectors
from registry.models import Manifest, Package
from registry.services.usage import owner_usage, package_usage, version_sizes
from retention.quotas import quota_limit
from retention.selectors import effective_policy
from retention.services import retention_run
from tests.packages_ui.helpers import push_labelled, push_multiarch

pytestmark = pytest.mark.django_db
SETTINGS = "/alice/packages/container/app/-/settings"


def test_settings_page_sets_a_policy_previews_it_and_shows_retention_deletes(api, owner_browser):
    old = push_labelled(api, "old", layer=b"old layer")
    push_labelled(api, "new", layer=b"new layer")
    Manifest.objects.filter(digest=old).update(pushed_at=timezone.now() - timedelta(days=50))

    response = owner_browser.post(f"{SETTINGS}/retention", {"enabled": "1", "delete_tagged_after_days": "30",
                                                          "keep_last": "", "keep_tags": ""})
    assert response.status_code == 302
    assert effective_policy(package=Package.objects.get(name="alice/app")).delete_tagged_after_days == 30

    page = owner_browser.get(SETTINGS).content.decode()
    assert "Preview: the next run would delete" in page and old in page
    assert Manifest.objects.get(digest=old).deleted_at is None

    retention_run(owner="alice")
    page = owner_browser.get(SETTINGS).content.decode()
    assert "by retention policy" in page and "Recent runs" in page


def test_a_bad_number_is_an_error_message(api, owner_browser):
    push_labelled(api, "v1")
    response = owner_browser.post(f"{SETTINGS}/retention", {"enabled": "1", "keep_last": "lots"}, follow=True)
    assert "is not a whole number" in response.content.decode()
    assert effective_policy(package=Package.objects.get(name="alice/app")) is None


def test_sizes_on_the_package_page_and_the_owners_packages_page(api, owner_browser):
    push_labelled(api, "v1", name="alice/app", layer=b"shared layer")
    push_labelled(api, "v1", name="alice/tool", layer=b"shared layer")
    app = package_usage(package=Package.objects.get(name="alice/app"))
    page = owner_browser.get("/alice/packages/container/app").content.decode()
    assert f'title="{app} bytes"' in page
    listing = owner_browser.get("/alice/packages").content.decode()
    total = owner_usage(owner="alice")
    assert total < 2 * app  # the shared layer and config count once
    assert f'title="{app} bytes"' in listing and f"({total} bytes)" in listing


def test_owner_settings_page_sets_the_owner_policy_and_only_a_site_admin_the_quota(
        api, owner_browser, browser_for, make_user):
    old = push_labelled(api, "old", layer=b"old layer")
    Manifest.objects.filter(digest=old).update(pushed_at=timezone.now() - timedelta(days=50))
    url = "/alice/packages/-/settings"
    response = owner_browser.post(url, {"enabled": "1", "delete_tagged_after_days": "30"})
    assert response.status_code == 302
    assert effective_policy(package=Package.objects.get(name="alice/app")).delete_tagged_after_days == 30
    page = owner_browser.get(url).content.decode()
    assert f"alice/app@<code>{old}</code>" in page and 'name="quota"' not in page

    assert owner_browser.post(url, {"quota": "1000"}).status_code == 403
    assert quota_limit(owner="alice") is None
    admin = make_user("root")
    admin.is_superuser = True
    admin.save()
    site_admin = browser_for(admin)
    assert 'name="quota"' in site_admin.get(url).content.decode()
    assert site_admin.post(url, {"quota": "1000"}).status_code == 302
    assert quota_limit(owner="alice") == 1000
    assert browser_for(make_user("bob")).get(url).status_code == 403


def test_a_multiarch_versions_size_on_its_page_counts_its_platforms(api, owner_browser):
    index, children = push_multiarch(api, "v1", name="alice/app")
    manifests = Manifest.objects.filter(digest__in=[index, *children])
    package = Package.objects.get(name="alice/app")
    # Both platforms' manifests, configs and layers, and the index itself: everything the package holds.
    assert package_usage(package=package) == sum(m.size for m in manifests) + sum(
        b.size for b in package.blobs.all())
    sizes = version_sizes(package=package, versions=presentation.version_tree(*page_selectors.version_rows(
        package=package)))
    assert sizes[Manifest.objects.get(digest=index).pk] == package_usage(package=package)
    page = owner_browser.get(f"/alice/packages/container/app/-/versions/{index}").content.decode()
    assert f"multi-arch image · {filesizeformat(package_usage(package=package))} ·" in page
