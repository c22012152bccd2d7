"""The package pages through the Django test client: what each visitor sees, and what they can't."""

import html

import pytest

from accounts.services import organization_create, package_grant, package_visibility_set, team_create
from registry.models import Package
from registry.services.downloads import download_fold
from tests.packages_ui.helpers import DESCRIPTION, HOST, LICENSES, SOURCE, push_labelled, push_multiarch
from tests.registry.helpers import push_artifact

pytestmark = pytest.mark.django_db

APP = "/alice/packages/container/app"
LABELS = {DESCRIPTION: "A tiny test app", LICENSES: "Apache-2.0", SOURCE: "https://example.com/alice/app"}


def text(response) -> str:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    return response.content.decode()


def make_public(name: str) -> None:
    package_visibility_set(package=Package.objects.get(name=name), visibility="public")


class TestListings:
    def test_fresh_owner_page_says_how_to_log_in_and_push(self, owner_browser):
        page = text(owner_browser.get("/alice/packages"))
        assert f"docker login {HOST} -u alice" in page
        assert f"docker push {HOST}/alice/IMAGE:latest" in page
        assert 'data-copy="cmd-login"' in page

    def test_owner_page_lists_packages_with_badges_and_filters_by_name(self, api, owner_browser):
        push_labelled(api, name="alice/app")
        push_labelled(api, name="alice/tools/builder")
        make_public("alice/tools/builder")
        page = text(owner_browser.get("/alice/packages"))
        assert 'href="/alice/packages/container/app"' in page
        assert 'href="/alice/packages/container/tools/builder"' in page
        assert "badge-private" in page and "badge-public" in page
        filtered = text(owner_browser.get("/alice/packages?q=build"))
        assert "tools/builder" in filtered and 'container/app"' not in filtered

    def test_filter_without_match_says_so(self, api, owner_browser):
        push_labelled(api)
        assert "No package of alice matches" in text(owner_browser.get("/alice/packages?q=zzz"))

    def test_others_see_only_what_they_may_read(self, api, anonymous, browser_for, make_user):
        push_labelled(api, name="alice/secret")
        push_labelled(api, name="alice/shared")
        push_labelled(api, name="alice/open")
        push_labelled(api, name="alice/staff")
        make_public("alice/open")
        package_visibility_set(package=Package.objects.get(name="alice/staff"), visibility="internal")
        bob = make_user("bob")
        package_grant(package=Package.objects.get(name="alice/shared"), role="read", user=bob)
        anon = text(anonymous.get("/alice/packages"))
        assert "alice/open" in anon
        assert "alice/secret" not in anon and "alice/shared" not in anon and "alice/staff" not in anon
        assert "docker login" not in anon
        as_bob = text(browser_for(bob).get("/alice/packages"))
        assert "alice/open" in as_bob and "alice/shared" in as_bob and "alice/staff" in as_bob
        assert "alice/secret" not in as_bob

    def test_unknown_owner_is_404(self, anonymous):
        assert anonymous.get("/nobody/packages").status_code == 404

    def test_explore_lists_public_and_internal_for_signed_in_visitors(self, api, anonymous, browser_for,
                                                                      make_user):
        push_labelled(api, name="alice/open")
        push_labelled(api, name="alice/staff")
        push_labelled(api, name="alice/secret")
        make_public("alice/open")
        package_visibility_set(package=Package.objects.get(name="alice/staff"), visibility="internal")
        anon = text(anonymous.get("/packages"))
        assert "alice/open" in anon and "alice/staff" not in anon and "alice/secret" not in anon
        assert text(anonymous.get("/")) == anon
        signed_in = text(browser_for(make_user("bob")).get("/packages"))
        assert "alice/open" in signed_in and "alice/staff" in signed_in and "alice/secret" not in signed_in
        assert "alice/open" not in text(anonymous.get("/packages?q=staff"))

    def test_explore_empty_state(self, anonymous):
        assert "No public packages yet" in text(anonymous.get("/packages"))


class TestPackagePage:
    def test_shows_description_license_source_and_pull_command(self, api, owner_browser):
        push_labelled(api, labels=LABELS)
        page = text(owner_browser.get(APP))
        assert '<p class="description">A tiny test app</p>' in page
        assert '<dd class="license">Apache-2.0</dd>' in page
        assert '<a href="https://example.com/alice/app" rel="nofollow noopener">' in page
        assert f"docker pull {HOST}/alice/app:latest" in page
        assert 'data-copy="pull-latest"' in page
        assert "Private" in page

    def test_everything_is_escaped_and_only_web_urls_are_links(self, api, owner_browser):
        push_labelled(api, labels={DESCRIPTION: "<script>alert(1)</script>", LICENSES: "<b>MIT</b>",
                                   SOURCE: "javascript:alert(1)"})
        page = text(owner_browser.get(APP))
        assert "<script>alert(1)</script>" not in page and "<b>MIT</b>" not in page
        assert html.escape("<script>alert(1)</script>") in page
        assert 'href="javascript:' not in page
        assert "javascript:alert(1)" in page

    def test_long_values_are_cut(self, api, owner_browser):
        push_labelled(api, labels={DESCRIPTION: "d" * 600, LICENSES: "l" * 300})
        page = text(owner_browser.get(APP))
        assert "d" * 512 + "</p>" in page and "d" * 513 not in page
        assert "l" * 256 + "</dd>" in page and "l" * 257 not in page

    def test_annotations_fill_in_what_labels_lack(self, api, owner_browser):
        push_labelled(api, labels={DESCRIPTION: "from the label"},
                      annotations={DESCRIPTION: "from the annotation", LICENSES: "MIT"})
        page = text(owner_browser.get(APP))
        assert "from the label" in page and "from the annotation" not in page
        assert '<dd class="license">MIT</dd>' in page

    def test_values_come_from_latest_else_the_newest_push(self, api, owner_browser):
        push_labelled(api, "latest", labels={DESCRIPTION: "the latest one"}, layer=b"one")
        push_labelled(api, "v2", labels={DESCRIPTION: "newer but not latest"}, layer=b"two")
        assert "the latest one" in text(owner_browser.get(APP))
        push_labelled(api, "v1", name="alice/other", labels={DESCRIPTION: "older"}, layer=b"a")
        push_labelled(api, "v2", name="alice/other", labels={DESCRIPTION: "newest push"}, layer=b"b")
        page = text(owner_browser.get("/alice/packages/container/other"))
        assert "newest push" in page and f"docker pull {HOST}/alice/other:v2" in page

    def test_multiarch_index_annotations_come_first_then_platform_labels(self, api, owner_browser):
        push_multiarch(api, annotations={DESCRIPTION: "index says"},
                       child_labels={DESCRIPTION: "platform says", LICENSES: "BSD-3-Clause"})
        page = text(owner_browser.get("/alice/packages/container/multi"))
        assert '<p class="description">index says</p>' in page
        assert '<dd class="license">BSD-3-Clause</dd>' in page
        assert "linux/amd64, linux/arm64/v8" in page

    def test_nested_name(self, api, owner_browser):
        push_labelled(api, name="alice/team/tools/app", labels=LABELS)
        page = text(owner_browser.get("/alice/packages/container/team/tools/app"))
        assert "alice/team/tools/app" in page and "A tiny test app" in page

    @pytest.mark.parametrize("path", ["", "/-/versions"])
    def test_private_package_is_404_to_anyone_who_cannot_read_it(self, api, anonymous, browser_for, make_user,
                                                                 path):
        push_labelled(api)
        assert anonymous.get(APP + path).status_code == 404
        bob = make_user("bob")
        assert browser_for(bob).get(APP + path).status_code == 404
        assert anonymous.get("/alice/packages/container/missing" + path).status_code == 404
        package_grant(package=Package.objects.get(name="alice/app"), role="read", user=bob)
        assert browser_for(bob).get(APP + path).status_code == 200

    def test_internal_package_needs_a_sign_in(self, api, anonymous, browser_for, make_user):
        push_labelled(api)
        package_visibility_set(package=Package.objects.get(name="alice/app"), visibility="internal")
        assert anonymous.get(APP).status_code == 404
        assert browser_for(make_user("bob")).get(APP).status_code == 200

    def test_public_package_is_open_to_anyone_but_only_admins_see_settings(self, api, anonymous, owner_browser):
        push_labelled(api, labels=LABELS)
        make_public("alice/app")
        page = text(anonymous.get(APP))
        assert "A tiny test app" in page and "/-/settings" not in page
        assert "/-/settings" in text(owner_browser.get(APP))

    def test_invalid_names_are_404(self, anonymous):
        assert anonymous.get("/alice/packages/container/UPPER").status_code == 404
        assert anonymous.get("/alice/packages/container/app/-/nothing").status_code == 404

    def test_package_without_versions_says_how_to_push(self, api, owner_browser):
        Package.objects.create(name="alice/empty", namespace="alice")
        page = text(owner_browser.get("/alice/packages/container/empty"))
        assert f"docker push {HOST}/alice/empty:latest" in page


class TestVersions:
    def test_platforms_and_referrers_are_nested_under_their_parent(self, api, owner_browser):
        index, children = push_multiarch(api)
        from registry.models import Manifest
        raw = bytes(Manifest.objects.get(digest=index).raw)
        signature, _ = push_artifact(api, {"mediaType": "application/vnd.oci.image.index.v1+json",
                                           "digest": index, "size": len(raw)},
                                     "application/vnd.dev.cosign.signature", name="alice/multi")
        page = text(owner_browser.get("/alice/packages/container/multi/-/versions"))
        top, nested = page.split('<ul class="children">', 1)
        assert index[:19] in top
        for digest in [*children, signature]:
            assert digest[:19] not in top and digest[:19] in nested
        assert "linux/arm64/v8" in page and "application/vnd.dev.cosign.signature" in page
        # The package page counts one version, not four.
        assert "All 1 version<" in text(owner_browser.get("/alice/packages/container/multi"))

    def test_versions_are_paged(self, api, owner_browser, monkeypatch):
        digests = [push_labelled(api, f"v{i}", layer=f"layer {i}".encode()) for i in range(3)]
        monkeypatch.setattr("packages_ui.views.PAGE_SIZE", 2)
        first = text(owner_browser.get(f"{APP}/-/versions"))
        second = text(owner_browser.get(f"{APP}/-/versions?page=2"))
        assert digests[2][:19] in first and digests[1][:19] in first and digests[0][:19] not in first
        assert "Page 1 of 2" in first and digests[0][:19] in second

    def test_version_page_shows_manifest_layers_and_pull_by_digest(self, api, owner_browser, anonymous):
        digest = push_labelled(api, labels=LABELS, layer=b"a layer")
        page = text(owner_browser.get(f"{APP}/-/versions/{digest}"))
        assert f"docker pull {HOST}/alice/app@{digest}" in page
        assert "application/vnd.oci.image.layer.v1.tar+gzip" in page
        assert "&quot;schemaVersion&quot;: 2" in page
        assert owner_browser.get(f"{APP}/-/versions/sha256:{'0' * 64}").status_code == 404
        assert anonymous.get(f"{APP}/-/versions/{digest}").status_code == 404

    def test_child_version_page_links_its_index(self, api, owner_browser):
        index, children = push_multiarch(api)
        page = text(owner_browser.get(f"/alice/packages/container/multi/-/versions/{children[1]}"))
        assert f'/-/versions/{index}"' in page and "Delete this version" not in page


class TestDownloads:
    def test_manifest_gets_count_and_heads_do_not(self, api, owner_browser):
        digest = push_labelled(api)
        accept = {"HTTP_ACCEPT": "application/vnd.oci.image.manifest.v1+json"}
        api.get("/v2/alice/app/manifests/latest", **accept)
        api.get(f"/v2/alice/app/manifests/{digest}", **accept)
        api.head("/v2/alice/app/manifests/latest", **accept)
        # The page folds the pulls counted so far into the counters before it shows them.
        assert '<dd class="downloads">2</dd>' in text(owner_browser.get(APP))
        package = Package.objects.get(name="alice/app")
        assert package.downloads == 2
        assert package.manifests.get(digest=digest).downloads == 2
        assert "2 downloads" in text(owner_browser.get(f"{APP}/-/versions"))

    def test_listings_show_counts_up_to_date(self, api, owner_browser):
        push_labelled(api)
        for _ in range(3):
            api.get("/v2/alice/app/manifests/latest")
        assert "3 downloads" in text(owner_browser.get("/alice/packages"))
        make_public("alice/app")
        api.get("/v2/alice/app/manifests/latest")
        assert "4 downloads" in text(owner_browser.get("/packages"))

    def test_a_multiarch_pull_counts_once_for_the_package(self, api):
        index, children = push_multiarch(api)
        api.get("/v2/alice/multi/manifests/latest")
        api.get(f"/v2/alice/multi/manifests/{children[0]}")
        download_fold()
        package = Package.objects.get(name="alice/multi")
        assert package.downloads == 1
        assert package.manifests.get(digest=index).downloads == 1
        assert package.manifests.get(digest=children[0]).downloads == 1


def test_teams_and_org_packages(api, make_user, browser_for):
    bob = make_user("bob")
    org = organization_create(name="acme", owner=bob)
    team = team_create(organization=org, name="devs")
    carol = make_user("carol")
    team.members.add(carol)
    from accounts.services import membership_set
    membership_set(organization=org, user=carol)
    bob_api = browser_for(bob)
    package = Package.objects.create(name="acme/app", namespace="acme")
    assert browser_for(carol).get("/acme/packages/container/app").status_code == 404
    package_grant(package=package, role="read", team=team)
    assert browser_for(carol).get("/acme/packages/container/app").status_code == 200
    assert "acme/app" in text(bob_api.get("/acme/packages"))
