"""Names, tags and digests match the spec's grammars in full: no trailing newline, CRLF or NUL gets in."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.names import validate_namespace_name
from registry.models import Manifest, Package, Tag
from registry.oci.digests import parse_digest
from registry.oci.errors import DigestInvalid, NameInvalid
from registry.oci.names import is_valid_name, is_valid_tag, validate_name
from tests.helpers import basic_auth
from tests.registry.helpers import REPO, error, push_image, put_manifest, request, sha256

pytestmark = pytest.mark.django_db

TRAILERS = ["\n", "\r\n", "\x00"]
ESCAPED = {"\n": "%0A", "\r\n": "%0D%0A", "\x00": "%00"}
DIGEST = sha256(b"x")


@pytest.fixture
def client():
    """A client acting as alice with every scope (runs once, not per blob store like `api`)."""
    from accounts.services import token_create, user_create

    user = user_create(username="alice")
    _, token = token_create(user=user, scopes=["read:packages", "write:packages", "delete:packages"])
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = basic_auth("alice", token)
    return client


@pytest.mark.parametrize("trailer", TRAILERS)
class TestGrammar:
    def test_names(self, trailer):
        assert is_valid_name("alice/app")
        assert not is_valid_name("alice/app" + trailer)
        with pytest.raises(NameInvalid):
            validate_name("alice/app" + trailer)

    def test_tags(self, trailer):
        assert is_valid_tag("v1")
        assert not is_valid_tag("v1" + trailer)

    def test_owner_names(self, trailer):
        validate_namespace_name("carol")
        with pytest.raises(ValidationError):
            validate_namespace_name("carol" + trailer)

    def test_digests(self, trailer):
        assert str(parse_digest(DIGEST)) == DIGEST
        with pytest.raises(DigestInvalid):
            parse_digest(DIGEST + trailer)


@pytest.mark.parametrize("trailer", TRAILERS)
class TestOverHTTP:
    def test_tag_with_a_trailer_is_not_stored(self, client, trailer):
        _, raw = push_image(client, "v1")
        response = put_manifest(client, f"v2{ESCAPED[trailer]}", raw)
        error(response, 400, "MANIFEST_INVALID")
        assert list(Tag.objects.values_list("name", flat=True)) == ["v1"]

    def test_push_by_digest_with_a_bad_tag_parameter_stores_nothing(self, client, trailer):
        digest, raw = push_image(client)
        Manifest.objects.all().delete()
        response = put_manifest(client, digest, raw, query=f"?tag=x{ESCAPED[trailer]}")
        error(response, 400, "MANIFEST_INVALID")
        assert not Tag.objects.exists() and not Manifest.objects.exists()

    def test_pull_of_a_tag_with_a_trailer_is_manifest_unknown(self, client, trailer):
        push_image(client, "v1")
        error(client.get(f"/v2/{REPO}/manifests/v1{ESCAPED[trailer]}"), 404, "MANIFEST_UNKNOWN")

    @pytest.mark.parametrize("path", [
        "/v2/alice/app{}/tags/list",
        "/v2/alice/app{}/manifests/v1",
        "/v2/alice/app{}/blobs/" + DIGEST,
        "/v2/alice/app{}/blobs/uploads/",
        "/v2/alice/app{}/referrers/" + DIGEST,
        "/v2/alice{}/app/tags/list",
    ])
    def test_name_with_a_trailer_is_name_invalid_json(self, client, trailer, path):
        for method in ("GET", "POST", "PUT", "DELETE"):
            response = request(client, method, path.format(ESCAPED[trailer]))
            assert response["Content-Type"] == "application/json", (method, response.content[:200])
            if response.status_code != 405:
                error(response, 400, "NAME_INVALID")
        assert not Package.all_objects.exists()

    def test_digest_with_a_trailer_is_digest_invalid(self, client, trailer):
        push_image(client, "v1")
        error(client.get(f"/v2/{REPO}/blobs/{DIGEST}{ESCAPED[trailer]}"), 400, "DIGEST_INVALID")
        error(client.get(f"/v2/{REPO}/referrers/{DIGEST}{ESCAPED[trailer]}"), 400, "DIGEST_INVALID")

    def test_unknown_path_with_a_newline_is_json(self, client, trailer):
        response = client.get(f"/v2/alice/app/unknown{ESCAPED[trailer]}/thing")
        error(response, 404, "NAME_UNKNOWN")

    def test_refused_credentials_on_a_bad_name_get_a_challenge_without_it(self, client, trailer):
        response = Client().get(f"/v2/alice/app{ESCAPED[trailer]}/tags/list",
                                HTTP_AUTHORIZATION=basic_auth("alice", "berth_wrong"))
        error(response, 401, "UNAUTHORIZED")
        assert "scope=" not in response["WWW-Authenticate"]


def test_a_quote_in_a_name_never_reaches_the_challenge(client):
    response = Client().get("/v2/alice/a%22b/tags/list", HTTP_AUTHORIZATION=basic_auth("alice", "berth_wrong"))
    error(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"].count('"') == 4  # realm and service only

