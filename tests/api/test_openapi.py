"""The REST API's OpenAPI description and its docs page, served without a CDN."""

import re

from django.test import Client


def test_the_description_covers_the_rest_api_only(db):
    response = Client().get("/api/v3/openapi.json")
    assert response.status_code == 200, response.content[:500]
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ("/api/v3/user/packages", "/api/v3/orgs/{org}/packages/{package_type}/{package_name}",
                 "/api/v3/users/{username}/packages/{package_type}/{package_name}/versions/{version_id}/restore"):
        assert path in paths, sorted(paths)
    assert not [p for p in paths if not p.startswith("/api/v3/")]
    # GitHub's operation ids, from which client generators name their methods as Octokit's.
    operation_ids = {operation["operationId"] for path in paths.values() for operation in path.values()}
    assert {"packages/list-packages-for-authenticated-user", "packages/get-package-for-organization",
            "packages/delete-package-version-for-org",
            "packages/get-all-package-versions-for-package-owned-by-user"} <= operation_ids
    assert set(paths["/api/v3/user/packages"]["get"]["responses"]) == {"200", "401", "403", "404", "422"}
    schemas = document["components"]["schemas"]
    assert {"download_count", "size_in_bytes", "repository"} <= set(schemas["Package"]["properties"])
    assert {"metadata", "platforms", "referrers"} <= set(schemas["Version"]["properties"])


def test_the_docs_page_loads_swagger_ui_from_berth_itself(db):
    page = Client().get("/api/v3/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/v3/openapi.json" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and not [s for s in sources if s.startswith(("http:", "https:", "//"))], sources
    script = next(s for s in sources if s.endswith(".js"))
    assert Client().get(script).status_code == 200


def test_the_root_points_at_the_description(db):
    response = Client().get("/api/v3/")
    assert response.status_code == 200
    assert response.json()["openapi_url"] == "http://testserver/api/v3/openapi.json"
