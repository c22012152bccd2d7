"""The Repositories pages and the package settings' repository sections, as owner, org owner, member, outsider."""

import pytest

from accounts.services import package_grant
from registry.models import Package
from sources import services
from sources.models import PackageRepositoryAccess, SourceRepository
from tests.sources.helpers import browser, package

pytestmark = pytest.mark.django_db


def messages(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


class TestRepositoriesPage:
    def test_owner_adds_a_repository_and_lands_on_its_page(self, people):
        client = browser(people["alice"])
        assert "Add a repository" in client.get("/alice/repositories").content.decode()
        response = client.post("/alice/repositories", {"url": "https://github.com/alice/app.git",
                                                       "push_refs": "refs/heads/main"})
        repository = SourceRepository.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/alice/repositories/{repository.pk}"
        assert repository.url == "https://github.com/alice/app" and repository.push_refs == ["refs/heads/main"]
        page = client.get("/alice/repositories").content.decode()
        assert f'href="/alice/repositories/{repository.pk}"' in page and "refs/heads/main" in page

    def test_a_refusal_is_shown_as_a_message(self, people, app_repo):
        response = browser(people["olga"]).post("/acme/repositories", {"url": "https://github.com/alice/app"},
                                                follow=True)
        assert any("already registered by another owner (alice)" in m for m in messages(response))
        response = browser(people["olga"]).post("/acme/repositories", {"url": "https://example.org/x/y"},
                                                follow=True)
        assert any("https://github.com/{repository}" in m for m in messages(response))

    def test_org_owner_manages_members_see_outsiders_do_not(self, people, acme_repo):
        assert "Add a repository" in browser(people["olga"]).get("/acme/repositories").content.decode()
        member = browser(people["mike"])
        page = member.get("/acme/repositories").content.decode()
        assert "https://github.com/acme/web" in page and "Add a repository" not in page
        assert member.post("/acme/repositories", {"url": "https://github.com/acme/api"}).status_code == 403
        assert member.post(f"/acme/repositories/{acme_repo.pk}/remove").status_code == 403
        outsider = browser(people["bob"])
        assert outsider.get("/acme/repositories").status_code == 403
        assert outsider.get(f"/acme/repositories/{acme_repo.pk}").status_code == 403
        assert outsider.post("/acme/repositories", {"url": "https://github.com/acme/api"}).status_code == 403
        assert browser(people["alice"]).get("/acme/repositories").status_code == 403
        assert SourceRepository.objects.count() == 1

    def test_signed_out_visitors_are_sent_to_sign_in(self, people):
        response = browser().get("/alice/repositories")
        assert response.status_code == 302 and "/login" in response["Location"]

    def test_another_owner_s_repository_is_404_under_this_owner(self, people, app_repo):
        assert browser(people["olga"]).get(f"/acme/repositories/{app_repo.pk}").status_code == 404


class TestRepositoryPage:
    def test_push_refs_grants_and_packages(self, people, acme_repo):
        client = browser(people["olga"])
        base = f"/acme/repositories/{acme_repo.pk}"
        client.post(f"{base}/push-refs", {"push_refs": "refs/heads/main,refs/tags/*"})
        acme_repo.refresh_from_db()
        assert acme_repo.push_refs == ["refs/heads/main", "refs/tags/*"]
        client.post(f"{base}/grant", {"grantee": "devs", "role": "write"})
        client.post(f"{base}/grant", {"grantee": "bob", "role": "read"})
        response = client.post(f"{base}/grant", {"grantee": "alice/devs", "role": "read"}, follow=True)
        assert any("Only teams of acme" in m for m in messages(response))
        assert {(p.team_id, p.user_id, p.role) for p in acme_repo.permissions.all()} == {
            (people["devs"].pk, None, "write"), (None, people["bob"].pk, "read")}
        web = package("acme/web")
        services.package_connect(package=web, repository=acme_repo, inherit_access=True)
        page = client.get(base).content.decode()
        assert "acme/devs" in page and "bob" in page and 'href="/acme/packages/container/web"' in page
        client.post(f"{base}/revoke", {"grantee": "bob"})
        assert acme_repo.permissions.count() == 1
        response = client.post(f"{base}/remove")
        assert response["Location"] == "/acme/repositories"
        assert not SourceRepository.objects.exists()

    def test_a_member_sees_it_read_only(self, people, acme_repo):
        page = browser(people["mike"]).get(f"/acme/repositories/{acme_repo.pk}").content.decode()
        assert "https://github.com/acme/web" in page and "Remove https://github.com/acme/web" not in page
        assert browser(people["mike"]).post(f"/acme/repositories/{acme_repo.pk}/grant",
                                            {"grantee": "mike", "role": "admin"}).status_code == 403
        assert not acme_repo.permissions.exists()


SETTINGS = "/alice/packages/container/app/-/settings"


class TestPackageSettings:
    def test_admin_connects_inherits_and_disconnects(self, people, app_repo):
        app = package("alice/app")
        client = browser(people["alice"])
        page = client.get(SETTINGS).content.decode()
        assert "Source repository" in page and "Manage CI access" in page
        assert '<option value="https://github.com/alice/app">' in page
        client.post(f"{SETTINGS}/source/connect", {"repository": "https://github.com/alice/app"})
        app.refresh_from_db()
        assert app.source_repository == app_repo and not app.inherit_access
        client.post(f"{SETTINGS}/source/inherit", {"inherit_access": "1"})
        app.refresh_from_db()
        assert app.inherit_access
        page = client.get(SETTINGS).content.decode()
        assert "(connected)" in page and "alice/app inherits access from https://github.com/alice/app" in page
        assert 'href="https://github.com/alice/app"' in client.get("/alice/packages/container/app").content.decode()
        client.post(f"{SETTINGS}/source/disconnect")
        app.refresh_from_db()
        assert app.source_repository is None and not app.inherit_access

    def test_ci_access_is_added_changed_and_removed(self, people, app_repo, acme_repo):
        package("alice/app")
        client = browser(people["alice"])
        client.post(f"{SETTINGS}/source/ci-access", {"repository": "https://github.com/acme/web/", "role": "read"})
        client.post(f"{SETTINGS}/source/ci-access", {"repository": "https://github.com/acme/web", "role": "write"})
        assert PackageRepositoryAccess.objects.get().role == "write"
        assert "https://github.com/acme/web" in client.get(SETTINGS).content.decode()
        response = client.post(f"{SETTINGS}/source/ci-access", {"repository": "https://github.com/no/such",
                                                                "role": "read"}, follow=True)
        assert any("is not a registered repository" in m for m in messages(response))
        client.post(f"{SETTINGS}/source/ci-access-remove", {"repository": "https://github.com/acme/web"})
        assert not PackageRepositoryAccess.objects.exists()

    def test_only_admins_use_them(self, people, app_repo):
        app = package("alice/app")
        package_grant(package=app, user=people["bob"], role="write")
        bob = browser(people["bob"])
        assert bob.post(f"{SETTINGS}/source/connect", {"repository": "https://github.com/alice/app"}
                        ).status_code == 403
        assert bob.post(f"{SETTINGS}/source/ci-access", {"repository": "https://github.com/alice/app",
                                                         "role": "admin"}).status_code == 403
        assert browser(people["mike"]).post(f"{SETTINGS}/source/connect").status_code == 404
        app.refresh_from_db()
        assert app.source_repository is None and not PackageRepositoryAccess.objects.exists()

    def test_an_inheriting_package_s_repository_admin_may_manage_it(self, people, app_repo):
        app = package("alice/app")
        services.package_connect(package=app, repository=app_repo, inherit_access=True)
        services.repository_grant(repository=app_repo, user=people["bob"], role="admin")
        assert browser(people["bob"]).get(SETTINGS).status_code == 200
        assert Package.objects.filter(name="alice/app").exists()


class TestOwnerLinks:
    def test_owner_and_organization_pages_link_the_repositories(self, people):
        assert 'href="/alice/repositories"' in browser(people["alice"]).get("/alice/packages").content.decode()
        assert 'href="/acme/repositories"' in browser(people["olga"]).get("/orgs/acme").content.decode()
