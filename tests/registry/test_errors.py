"""The spec's error body, `{"errors": [{"code", "message", "detail"}]}`, for every code the API raises."""

import json

import pytest
from django.http import Http404
from rest_framework import exceptions as drf

from registry.api.errors import exception_handler
from registry.oci import media_types as mt
from tests.registry.helpers import (
    REPO,
    descriptor,
    error,
    image_config,
    manifest_bytes,
    push_blob,
    push_image,
    put_manifest,
    request,
    sha256,
    start_upload,
)

pytestmark = pytest.mark.django_db


def test_base_endpoint(api):
    for path in ("/v2/", "/v2"):
        response = api.get(path)
        assert response.status_code == 200
        assert response["Docker-Distribution-API-Version"] == "registry/2.0"
        assert response.json() == {}


def test_errors_carry_the_api_version_header(api):
    response = api.get("/v2/alice/nothing/tags/list")
    assert response.status_code == 404
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response["Content-Type"] == "application/json"


def test_every_code_over_http(api, settings):
    """Provoke each error the distribution API raises; each has the spec's shape and a message."""
    push_image(api, "v1")
    missing = sha256(b"missing")
    upload = start_upload(api)
    provoked = {
        "BLOB_UNKNOWN": (api.get(f"/v2/{REPO}/blobs/{missing}"), 404),
        "BLOB_UPLOAD_INVALID": (request(api, "PATCH", upload, b"abc", headers={"Content-Range": "7-9"}), 416),
        "BLOB_UPLOAD_UNKNOWN": (api.get(f"/v2/{REPO}/blobs/uploads/00000000-0000-4000-8000-000000000000"), 404),
        "DIGEST_INVALID": (request(api, "POST", f"/v2/{REPO}/blobs/uploads/?digest={missing}", b"x"), 400),
        "MANIFEST_BLOB_UNKNOWN": (put_manifest(api, "v2", manifest_bytes(
            config=descriptor(b"never pushed", mt.OCI_CONFIG), layers=[])), 400),
        "MANIFEST_INVALID": (put_manifest(api, "v2", b"{not json"), 400),
        "MANIFEST_UNKNOWN": (api.get(f"/v2/{REPO}/manifests/nope"), 404),
        "NAME_INVALID": (api.get("/v2/alice/UPPER/tags/list"), 400),
        "NAME_UNKNOWN": (api.get("/v2/alice/nothing/tags/list"), 404),
        "UNSUPPORTED": (api.generic("PATCH", f"/v2/{REPO}/manifests/v1"), 405),
    }
    settings.BERTH_MAX_LAYER_SIZE = 1
    provoked["SIZE_INVALID"] = (request(api, "POST", f"/v2/{REPO}/blobs/uploads/?digest={sha256(b'xy')}", b"xy"), 413)
    for code, (response, status) in provoked.items():
        first = error(response, status, code)
        assert set(first) <= {"code", "message", "detail"}


def test_unauthenticated_push_is_unauthorized_with_a_challenge(api):
    from django.test import Client

    response = Client().post(f"/v2/{REPO}/blobs/uploads/")
    first = error(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"]
    assert first["message"]


def test_detail_names_what_was_wrong(api):
    push_blob(api, image_config())
    raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[descriptor(b"l", "x/y")])
    first = error(put_manifest(api, "v1", raw), 400, "MANIFEST_BLOB_UNKNOWN")
    assert first["detail"] == {"digest": sha256(b"l")}


def test_unknown_endpoint_under_v2(api):
    first = error(api.get("/v2/alice/app/unknown/thing"), 404, "NAME_UNKNOWN")
    assert "not a distribution API endpoint" in first["message"]


def test_method_not_allowed_is_unsupported(api):
    push_image(api)
    first = error(api.generic("PATCH", f"/v2/{REPO}/tags/list"), 405, "UNSUPPORTED")
    assert "PATCH" in first["message"]


class TestHandler:
    """The one place that turns exceptions into responses, for errors the accounts work raises."""

    def render(self, exc, method="GET"):
        response = exception_handler(exc, {"request": type("Request", (), {"method": method})()})
        return response, json.loads(response.content)["errors"][0]

    def test_not_authenticated_is_unauthorized(self):
        response, first = self.render(drf.NotAuthenticated("log in with a personal access token"))
        assert response.status_code == 401
        assert first == {"code": "UNAUTHORIZED", "message": "log in with a personal access token"}

    def test_authentication_failed_is_unauthorized(self):
        response, first = self.render(drf.AuthenticationFailed("token expired"))
        assert (response.status_code, first["code"]) == (401, "UNAUTHORIZED")

    def test_permission_denied_is_denied(self):
        response, first = self.render(drf.PermissionDenied("you may not push to bob/app"))
        assert (response.status_code, first["code"]) == (403, "DENIED")
        assert first["message"] == "you may not push to bob/app"

    def test_throttled_is_toomanyrequests_with_retry_after(self):
        response, first = self.render(drf.Throttled(wait=7))
        assert (response.status_code, first["code"]) == (429, "TOOMANYREQUESTS")
        assert response["Retry-After"] == "7"
        assert "7 seconds" in first["message"]

    def test_method_not_allowed_is_unsupported(self):
        response, first = self.render(drf.MethodNotAllowed("TRACE"), "TRACE")
        assert (response.status_code, first["code"]) == (405, "UNSUPPORTED")

    def test_http404_is_name_unknown(self):
        response, first = self.render(Http404())
        assert (response.status_code, first["code"]) == (404, "NAME_UNKNOWN")

    @pytest.mark.parametrize("exc", [drf.ParseError("bad body"), drf.NotAcceptable(), drf.UnsupportedMediaType("x/y")])
    def test_other_drf_errors_keep_their_status_with_a_spec_code(self, exc):
        response, first = self.render(exc)
        assert response.status_code == exc.status_code
        assert first["code"] == "UNSUPPORTED"

    def test_unexpected_exceptions_are_left_to_django(self):
        assert exception_handler(RuntimeError("boom"), {"request": None}) is None
