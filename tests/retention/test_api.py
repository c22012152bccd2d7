"""The REST API's retention endpoints: an owner's policy, a package's override, and who may change them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registry.models import Manifest, Package
from retention.selectors import effective_policy
from retention.services import policy_set, retention_run
from tests.packages_ui.helpers import push_labelled

pytestmark = pytest.mark.django_db
BASE = "/api/v3/users/alice"


def test_owner_policy_and_package_override(api, owner_client):
    push_labelled(api, "v1")
    response = owner_client.put(f"{BASE}/retention", {"keep_last": 5, "delete_untagged_after_days": 7},
                                content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["keep_last"] == 5 and response.json()["source"] == "owner"

    package_url = f"{BASE}/packages/container/app/retention"
    assert owner_client.get(package_url).json()["source"] == "owner"
    response = owner_client.put(package_url, {"keep_tags": "v.*", "keep_last": 2}, content_type="application/json")
    assert response.status_code == 200, response.content
    got = owner_client.get(package_url).json()
    assert (got["source"], got["keep_last"], got["keep_tags"], got["delete_untagged_after_days"]) == \
        ("package", 2, "v.*", None)
    assert effective_policy(package=Package.objects.get(name="alice/app")).keep_last == 2

    assert owner_client.delete(package_url).status_code == 204
    assert effective_policy(package=Package.objects.get(name="alice/app")).keep_last == 5
    assert owner_client.delete(f"{BASE}/retention").status_code == 204
    assert effective_policy(package=Package.objects.get(name="alice/app")) is None


def test_a_bad_pattern_is_422(api, owner_client):
    push_labelled(api, "v1")
    response = owner_client.put(f"{BASE}/packages/container/app/retention", {"keep_tags": "v(["},
                                content_type="application/json")
    assert response.status_code == 422 and "regular expression" in response.json()["message"]


def test_others_may_not_read_or_set_policies(api, make_user, client_for, anonymous):
    push_labelled(api, "v1")
    bob = client_for(make_user("bob"))
    assert bob.put(f"{BASE}/retention", {"keep_last": 1}, content_type="application/json").status_code == 404
    assert bob.get(f"{BASE}/retention").status_code == 404
    assert anonymous.get(f"{BASE}/retention").status_code == 401


def test_versions_a_run_deleted_say_so_in_the_api(api, owner_client):
    old = push_labelled(api, "v1")
    Manifest.objects.filter(digest=old).update(pushed_at=timezone.now() - timedelta(days=40))
    policy_set(owner="alice", delete_tagged_after_days=30)
    retention_run(owner="alice")
    deleted = owner_client.get(f"{BASE}/packages/container/app/versions?state=deleted").json()
    assert [(v["name"], v["deleted_by"]) for v in deleted] == [(old, "retention policy")]
    live = push_labelled(api, "v2", layer=b"new")
    assert "deleted_by" not in owner_client.get(f"{BASE}/packages/container/app/versions").json()[0]
    assert owner_client.get(f"{BASE}/packages/container/app/versions").json()[0]["name"] == live
