"""Quotas: a push may bring an owner's usage to exactly its quota; one byte over is refused with DENIED."""

import io
import json

import pytest
from django.core.management import call_command

from registry.models import Blob, Manifest, PackageBlob
from registry.services.usage import owner_usage, package_usage
from tests.registry.helpers import (
    descriptor,
    error,
    image_config,
    manifest_bytes,
    push_blob,
    push_image,
    put_manifest,
    request,
    sha256,
)

pytestmark = pytest.mark.django_db
CONFIG = image_config()


def set_quota(owner: str, limit) -> None:
    call_command("set_quota", owner, str(limit), stdout=io.StringIO())


def image(layer: bytes) -> bytes:
    return manifest_bytes(config=descriptor(CONFIG, "application/vnd.oci.image.config.v1+json"),
                          layers=[descriptor(layer, "application/vnd.oci.image.layer.v1.tar+gzip")])


def test_usage_counts_a_blob_shared_by_two_packages_once(api):
    push_image(api, "v1", name="alice/one", config=CONFIG, layers=(b"shared",))
    push_image(api, "v1", name="alice/two", config=CONFIG, layers=(b"shared",))
    one = Manifest.objects.get(package__name="alice/one")
    assert package_usage(package=one.package) == one.size + len(CONFIG) + len(b"shared")
    assert owner_usage(owner="alice") == 2 * one.size + len(CONFIG) + len(b"shared")


def test_a_manifest_put_exactly_at_the_quota_is_accepted_and_one_byte_over_refused(api):
    push_image(api, "v1", config=CONFIG, layers=(b"first",))
    usage = owner_usage(owner="alice")
    push_blob(api, b"second")
    raw = image(b"second")
    adds = len(raw) + len(b"second")

    set_quota("alice", usage + adds - 1)
    first = error(put_manifest(api, "v2", raw), 403, "DENIED")
    assert f"quota is {usage + adds - 1} bytes" in first["message"] and f"use {usage} bytes" in first["message"]
    assert "Free space" in first["message"]
    assert not Manifest.objects.filter(digest=sha256(raw)).exists()
    # Pulls are not affected.
    assert api.get("/v2/alice/app/manifests/v1").status_code == 200

    set_quota("alice", usage + adds)
    assert put_manifest(api, "v2", raw).status_code == 201
    assert owner_usage(owner="alice") == usage + adds
    # At the quota: retagging adds nothing and is fine; a chunked upload start is refused.
    assert put_manifest(api, "again", raw).status_code == 201
    error(request(api, "POST", "/v2/alice/app/blobs/uploads/"), 403, "DENIED")


def test_a_monolithic_upload_is_checked_against_its_length(api):
    push_image(api, "v1", config=CONFIG, layers=(b"first",))
    usage = owner_usage(owner="alice")
    data = b"0123456789"
    set_quota("alice", usage + len(data) - 1)
    error(request(api, "POST", f"/v2/alice/app/blobs/uploads/?digest={sha256(data)}", data), 403, "DENIED")
    assert not Blob.objects.filter(digest=sha256(data)).exists()
    # A chunked start is still allowed: usage is below the quota.
    assert request(api, "POST", "/v2/alice/app/blobs/uploads/").status_code == 202
    set_quota("alice", usage + len(data))
    assert request(api, "POST", f"/v2/alice/app/blobs/uploads/?digest={sha256(data)}", data).status_code == 201


def test_mounting_a_blob_the_owner_already_counts_is_free(api):
    push_image(api, "v1", name="alice/one", config=CONFIG, layers=(b"shared",))
    set_quota("alice", owner_usage(owner="alice"))
    response = request(api, "POST", f"/v2/alice/two/blobs/uploads/?mount={sha256(b'shared')}&from=alice/one")
    assert response.status_code == 201
    assert PackageBlob.objects.filter(package__name="alice/two").count() == 1


def test_set_quota_none_removes_it(api):
    push_image(api, "v1", config=CONFIG, layers=(b"first",))
    set_quota("alice", 0)
    body = error(request(api, "POST", "/v2/alice/app/blobs/uploads/"), 403, "DENIED")
    assert json.dumps(body["detail"])
    set_quota("alice", "none")
    assert request(api, "POST", "/v2/alice/app/blobs/uploads/").status_code == 202
