"""Listings: tags with pagination, the catalog, and referrers with artifactType filtering."""

import json
import re

import pytest

from registry.oci import media_types as mt
from tests.registry.helpers import (
    EMPTY_JSON,
    REPO,
    body,
    descriptor,
    error,
    index_bytes,
    manifest_bytes,
    push_artifact,
    push_blob,
    push_image,
    put_manifest,
    sha256,
)

pytestmark = pytest.mark.django_db

LINK_RE = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def tag_everything(api, names, repo=REPO):
    digest, raw = push_image(api, name=repo)
    for tag in names:
        assert put_manifest(api, tag, raw, name=repo).status_code == 201
    return digest


def next_url(response):
    link = response.get("Link")
    if link is None:
        return None
    match = LINK_RE.match(link)
    assert match, link
    return match["url"]


class TestTags:
    def test_all_tags_in_lexical_order(self, api):
        tag_everything(api, ["v2", "latest", "v10", "1.0", "A"])
        response = api.get(f"/v2/{REPO}/tags/list")
        assert response.status_code == 200
        assert response.json() == {"name": REPO, "tags": ["1.0", "A", "latest", "v10", "v2"]}
        assert "Link" not in response

    def test_case_insensitive_lexical_order_and_pagination(self, api):
        """The spec: "lexical order (i.e. case-insensitive alphanumeric order)", whatever the DB collation."""
        tag_everything(api, ["b", "B", "a", "A", "C1", "c0", "v1.0", "v1-0", "v10", "_x"])
        expected = ["_x", "A", "a", "B", "b", "c0", "C1", "v1-0", "v1.0", "v10"]
        assert api.get(f"/v2/{REPO}/tags/list").json()["tags"] == expected
        seen, url = [], f"/v2/{REPO}/tags/list?n=3"
        while url:
            response = api.get(url)
            seen += response.json()["tags"]
            url = next_url(response)
        assert seen == expected
        assert api.get(f"/v2/{REPO}/tags/list?last=B").json()["tags"] == expected[4:]

    def test_no_tags(self, api):
        push_image(api)
        assert api.get(f"/v2/{REPO}/tags/list").json() == {"name": REPO, "tags": []}

    def test_n_limits_and_link_points_at_the_next_page(self, api):
        tag_everything(api, ["a", "b", "c", "d", "e"])
        response = api.get(f"/v2/{REPO}/tags/list?n=2")
        assert response.json()["tags"] == ["a", "b"]
        assert next_url(response) == f"/v2/{REPO}/tags/list?n=2&last=b"

    def test_following_links_visits_every_tag_once(self, api):
        expected = [f"t{i:02d}" for i in range(7)]
        tag_everything(api, expected)
        seen, url, pages = [], f"/v2/{REPO}/tags/list?n=3", 0
        while url:
            response = api.get(url)
            assert response.status_code == 200
            seen += response.json()["tags"]
            url = next_url(response)
            pages += 1
        assert seen == expected
        assert pages == 3

    def test_last_page_that_is_exactly_full_has_no_link(self, api):
        tag_everything(api, ["a", "b", "c", "d"])
        response = api.get(f"/v2/{REPO}/tags/list?n=2&last=b")
        assert response.json()["tags"] == ["c", "d"]
        assert "Link" not in response

    def test_last_without_n(self, api):
        tag_everything(api, ["a", "b", "c"])
        assert api.get(f"/v2/{REPO}/tags/list?last=a").json()["tags"] == ["b", "c"]

    def test_last_that_is_not_a_tag(self, api):
        """The conformance suite asks for tags after one it read; any string orders the same."""
        tag_everything(api, ["test0", "test1", "test2", "test3"])
        tags = api.get(f"/v2/{REPO}/tags/list?n=2&last=test1").json()["tags"]
        assert tags == ["test2", "test3"]
        assert api.get(f"/v2/{REPO}/tags/list?n=5&last=test1zzz").json()["tags"] == ["test2", "test3"]

    def test_n_zero_is_an_empty_page(self, api):
        tag_everything(api, ["a"])
        response = api.get(f"/v2/{REPO}/tags/list?n=0")
        assert response.status_code == 200
        assert response.json()["tags"] == []
        assert "Link" not in response  # the spec: an empty list and no Link when n is zero

    @pytest.mark.parametrize("n", ["abc", "-1", "1.5"])
    def test_bad_n(self, api, n):
        tag_everything(api, ["a"])
        first = error(api.get(f"/v2/{REPO}/tags/list?n={n}"), 400, "UNSUPPORTED")
        assert f"n='{n}'" in first["message"]
        error(api.get(f"/v2/_catalog?n={n}"), 400, "UNSUPPORTED")

    def test_huge_n_is_capped_with_a_link(self, api, monkeypatch):
        from registry.api import base

        monkeypatch.setattr(base, "MAX_PAGE_SIZE", 2)
        tag_everything(api, ["a", "b", "c"])
        response = api.get(f"/v2/{REPO}/tags/list?n=99999999999999999999999")
        assert response.status_code == 200
        assert response.json()["tags"] == ["a", "b"]
        assert next_url(response) == f"/v2/{REPO}/tags/list?n=2&last=b"

    def test_unknown_repository(self, api):
        error(api.get("/v2/alice/nothing/tags/list"), 404, "NAME_UNKNOWN")

    def test_nested_name(self, api):
        tag_everything(api, ["1.14.1"], repo="alice/image-name/release")
        response = api.get("/v2/alice/image-name/release/tags/list")
        assert response.json() == {"name": "alice/image-name/release", "tags": ["1.14.1"]}


class TestCatalog:
    def test_lists_repositories_with_manifests(self, api):
        for name in ("alice/b", "alice/a/nested", "alice/c"):
            push_image(api, "v1", name=name)
        push_blob(api, b"only a blob", "alice/blobs-only")
        response = api.get("/v2/_catalog")
        assert response.status_code == 200
        assert response.json() == {"repositories": ["alice/a/nested", "alice/b", "alice/c"]}

    def test_pagination(self, api):
        for name in ("alice/a", "alice/b", "alice/c"):
            push_image(api, "v1", name=name)
        response = api.get("/v2/_catalog?n=2")
        assert response.json()["repositories"] == ["alice/a", "alice/b"]
        url = next_url(response)
        assert url == "/v2/_catalog?n=2&last=alice%2Fb"
        response = api.get(url)
        assert response.json()["repositories"] == ["alice/c"]
        assert "Link" not in response


class TestReferrers:
    @pytest.fixture
    def subject(self, api):
        digest, raw = push_image(api, "v1")
        return descriptor(raw, mt.OCI_MANIFEST)

    def referrers(self, api, digest, query=""):
        response = api.get(f"/v2/{REPO}/referrers/{digest}{query}")
        assert response.status_code == 200, body(response)
        assert response["Content-Type"] == mt.OCI_INDEX
        document = json.loads(body(response))
        assert document["schemaVersion"] == 2
        assert document["mediaType"] == mt.OCI_INDEX
        return response, document["manifests"]

    def test_lists_every_referrer_with_descriptor_fields(self, api, subject):
        sig, sig_raw = push_artifact(api, subject, "application/vnd.example.sig",
                                     annotations={"org.example.key": "sig"})
        sbom, _ = push_artifact(api, subject, "application/vnd.example.sbom", payload=b"sbom",
                                annotations={"org.example.key": "sbom"})
        _, manifests = self.referrers(api, subject["digest"])
        by_digest = {m["digest"]: m for m in manifests}
        assert set(by_digest) == {sig, sbom}
        assert by_digest[sig] == {
            "mediaType": mt.OCI_MANIFEST,
            "digest": sig,
            "size": len(sig_raw),
            "artifactType": "application/vnd.example.sig",
            "annotations": {"org.example.key": "sig"},
        }

    def test_artifact_type_filter(self, api, subject):
        sig, _ = push_artifact(api, subject, "application/vnd.example.sig")
        push_artifact(api, subject, "application/vnd.example.sbom", payload=b"sbom")
        response, manifests = self.referrers(api, subject["digest"], "?artifactType=application/vnd.example.sig")
        assert response["OCI-Filters-Applied"] == "artifactType"
        assert [m["digest"] for m in manifests] == [sig]
        response, _ = self.referrers(api, subject["digest"])
        assert "OCI-Filters-Applied" not in response

    def test_config_media_type_stands_in_for_a_missing_artifact_type(self, api, subject):
        config = b'{"kind": "attestation"}'
        push_blob(api, config)
        raw = manifest_bytes(config=descriptor(config, "application/vnd.example.config.v1+json"), layers=[],
                             subject=subject)
        assert put_manifest(api, sha256(raw), raw).status_code == 201
        _, manifests = self.referrers(api, subject["digest"])
        assert manifests[0]["artifactType"] == "application/vnd.example.config.v1+json"

    def test_index_referrer(self, api, subject):
        _, child = push_image(api, layers=(b"child",))
        raw = index_bytes([descriptor(child, mt.OCI_MANIFEST)], artifactType="application/vnd.example.index",
                          subject=subject)
        response = put_manifest(api, sha256(raw), raw, mt.OCI_INDEX)
        assert response["OCI-Subject"] == subject["digest"]
        _, manifests = self.referrers(api, subject["digest"])
        assert manifests == [{"mediaType": mt.OCI_INDEX, "digest": sha256(raw), "size": len(raw),
                              "artifactType": "application/vnd.example.index"}]

    def test_digest_without_referrers_is_an_empty_index(self, api, subject):
        _, manifests = self.referrers(api, sha256(b"hello world"))
        assert manifests == []

    def test_referrers_pushed_before_their_subject(self, api):
        ghost = manifest_bytes(config=descriptor(b"{}", mt.OCI_CONFIG), layers=[])
        ref, _ = push_artifact(api, descriptor(ghost, mt.OCI_MANIFEST), "application/vnd.example")
        _, manifests = self.referrers(api, sha256(ghost))
        assert [m["digest"] for m in manifests] == [ref]

    def test_referrers_in_other_repositories_are_not_listed(self, api, subject):
        push_artifact(api, subject, "application/vnd.example.sig", name="alice/other")
        _, manifests = self.referrers(api, subject["digest"])
        assert manifests == []

    def test_deleted_referrer_disappears(self, api, subject):
        sig, _ = push_artifact(api, subject, "application/vnd.example.sig")
        assert api.delete(f"/v2/{REPO}/manifests/{sig}").status_code == 202
        _, manifests = self.referrers(api, subject["digest"])
        assert manifests == []

    def test_invalid_digest(self, api, subject):
        error(api.get(f"/v2/{REPO}/referrers/sha256:short"), 400, "DIGEST_INVALID")

    def test_empty_config_artifact_without_subject_is_not_a_referrer(self, api, subject):
        push_blob(api, EMPTY_JSON)
        push_artifact(api, None, "application/vnd.example.sig")
        _, manifests = self.referrers(api, subject["digest"])
        assert manifests == []
