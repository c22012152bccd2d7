"""The source repository services: adding and removing, grants, connecting, CI access, job identities."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.authentication import Credential
from accounts.oidc import InvalidJobToken, JobClaims
from audit.models import Action, AuditEntry
from registry.api.base import RegistryView
from registry.models import Package
from sources import services
from sources.models import PackageRepositoryAccess, SourceRepository
from tests.sources.helpers import GITHUB, GITLAB, job_for, package

pytestmark = pytest.mark.django_db


def claims(repository="alice/app", issuer=GITHUB, ref="refs/heads/main") -> JobClaims:
    return JobClaims(issuer=issuer, repository=repository, repository_url=f"https://github.com/{repository}",
                     ref=ref, sha="1a2b3c4", workflow="ci", run_id="4242", subject="repo:x", expires_at=2_000_000_000)


class TestRepositoryAdd:
    def test_url_is_normalised_and_the_issuer_and_claim_kept_and_audited(self, people):
        repository = services.repository_add(namespace="alice", url=" https://github.com/alice/app.git/ ",
                                             push_refs="refs/heads/main, refs/tags/*", by=people["alice"])
        assert (repository.url, repository.issuer, repository.claim) == ("https://github.com/alice/app", GITHUB,
                                                                         "alice/app")
        assert repository.push_refs == ["refs/heads/main", "refs/tags/*"]
        entry = AuditEntry.objects.get(action=Action.REPOSITORY_ADD)
        assert (entry.namespace, entry.actor, entry.data["repository"]) == ("alice", people["alice"],
                                                                            "https://github.com/alice/app")

    def test_gitlab_template(self, people):
        repository = services.repository_add(namespace="acme", url="https://gitlab.example.com/acme/group/web")
        assert (repository.issuer, repository.claim) == (GITLAB, "acme/group/web")

    def test_a_url_matching_no_issuer_lists_the_templates(self, people):
        with pytest.raises(ValidationError) as e:
            services.repository_add(namespace="alice", url="https://example.org/alice/app")
        assert ("https://example.org/alice/app matches no trusted CI issuer's repository URL; the configured "
                "templates are: https://github.com/{repository}, https://gitlab.example.com/{repository}."
                ) in e.value.messages

    def test_a_url_another_owner_registered_is_refused(self, people, app_repo):
        with pytest.raises(ValidationError) as e:
            services.repository_add(namespace="acme", url="https://github.com/Alice/app/")
        assert "already registered by another owner (alice)" in e.value.messages[0]
        assert SourceRepository.objects.count() == 1

    def test_unknown_owner(self, people):
        with pytest.raises(ValidationError):
            services.repository_add(namespace="nobody", url="https://github.com/nobody/app")

    def test_removing_disconnects_packages_and_they_keep_their_own_grants(self, people, app_repo):
        app = package("alice/app")
        services.package_connect(package=app, repository=app_repo, inherit_access=True)
        services.repository_remove(repository=app_repo)
        app.refresh_from_db()
        assert (app.source_repository, app.inherit_access) == (None, False)


class TestGrantsAndConnections:
    def test_only_teams_of_the_owning_organization(self, people, app_repo, acme_repo):
        with pytest.raises(ValidationError):
            services.repository_grant(repository=app_repo, team=people["devs"], role="read")
        services.repository_grant(repository=acme_repo, team=people["devs"], role="read")
        services.repository_grant(repository=acme_repo, team=people["devs"], role="write")
        assert acme_repo.permissions.get().role == "write"
        services.repository_revoke(repository=acme_repo, team=people["devs"])
        assert not acme_repo.permissions.exists()

    def test_a_package_connects_only_to_its_owner_s_repositories(self, people, acme_repo):
        with pytest.raises(ValidationError):
            services.package_connect(package=package("alice/app"), repository=acme_repo)

    def test_connected_repository_has_no_separate_ci_access_row(self, people, app_repo):
        app = package("alice/app")
        services.package_repository_access_set(package=app, repository=app_repo, role="read")
        services.package_connect(package=app, repository=app_repo)
        assert not PackageRepositoryAccess.objects.exists()
        with pytest.raises(ValidationError):
            services.package_repository_access_set(package=app, repository=app_repo, role="read")
        with pytest.raises(ValidationError):
            services.package_repository_access_remove(package=app, repository=app_repo)

    def test_inherit_needs_a_connection(self, people):
        with pytest.raises(ValidationError):
            services.package_inherit_set(package=package("alice/app"), inherit_access=True)

    def test_connect_from_source_needs_an_admin_and_a_registered_url_of_the_owner(self, people, app_repo):
        app = package("alice/app")
        assert not services.connect_from_source(package=app, source_url="https://github.com/alice/app",
                                                user=people["bob"])
        assert not services.connect_from_source(package=app, source_url="https://github.com/alice/other",
                                                user=people["alice"])
        assert services.connect_from_source(package=app, source_url="https://github.com/alice/app.git",
                                            user=people["alice"])
        app.refresh_from_db()
        assert app.source_repository == app_repo and not app.inherit_access
        # Already connected: nothing changes.
        assert not services.connect_from_source(package=app, source_url="https://github.com/alice/app",
                                                user=people["alice"])


class TestJobs:
    def test_job_identity_of_a_registered_repository(self, app_repo):
        job = services.job_identity(claims())
        assert (job.repository_id, job.repository_url, job.namespace, job.ref, job.run_id, job.push_refs) == (
            app_repo.pk, "https://github.com/alice/app", "alice", "refs/heads/main", "4242",
            ("refs/heads/main", "refs/tags/*"))
        assert job.may_push and job.expires_at == 2_000_000_000

    def test_an_unregistered_repository_says_who_adds_it_and_how(self, people):
        with pytest.raises(InvalidJobToken) as e:
            services.job_identity(claims("alice/unknown"))
        assert str(e.value) == (
            "repository https://github.com/alice/unknown is not registered with Berth; an owner of alice adds it "
            "at /alice/repositories or with `manage.py add_repository alice https://github.com/alice/unknown`")

    def test_the_same_claim_of_another_issuer_is_not_that_repository(self, app_repo):
        with pytest.raises(InvalidJobToken):
            services.job_identity(claims(issuer=GITLAB))

    def test_current_identity_reads_push_refs_again_and_refuses_a_removed_repository(self, app_repo):
        job = job_for(app_repo, ref="refs/heads/dev")
        assert not job.may_push
        services.push_refs_set(repository=app_repo, push_refs="refs/heads/*")
        assert services.job_identity_current(job).may_push
        services.repository_remove(repository=app_repo)
        with pytest.raises(InvalidJobToken, match="no longer registered"):
            services.job_identity_current(job)

    def test_a_job_s_first_push_creates_a_connected_inheriting_package(self, app_repo):
        job = job_for(app_repo)
        request = RequestFactory().post("/v2/alice/new/blobs/uploads/")
        request.user, request.auth = AnonymousUser(), Credential(pat=None, job=job)
        view = RegistryView()
        view.request = request
        created = view.package_for_push("alice/new")
        assert (created.source_repository_id, created.inherit_access) == (app_repo.pk, True)
        entry = AuditEntry.objects.get(action=Action.PACKAGE_CREATE)
        assert entry.actor is None and entry.actor_name == "alice/app"
        # A second push finds it and changes nothing.
        assert services.package_create_for_job(name="alice/new", job=job) == created
        assert Package.objects.filter(name="alice/new").count() == 1
