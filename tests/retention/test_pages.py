"""The package settings page shows the retention policy, a preview of its next run, and who deleted what."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registry.models import Manifest, Package
from retention.selectors import effective_policy
from retention.services import retention_run
from tests.packages_ui.conftest import push_labelled

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
