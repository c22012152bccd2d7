"""The permission rules with source repositories: inherited access, CI access roles, and CI job callers."""

import pytest

from accounts import access
from accounts.services import package_grant
from registry.models import Package
from registry.oci.errors import Denied, NameUnknown
from sources import services
from tests.sources.helpers import job_caller, job_for, package, user_caller, v2_request

pytestmark = pytest.mark.django_db


def role(user, pkg):
    return access.package_role(user, pkg, pkg.namespace)


def agrees(user) -> None:
    """visible_packages() lists exactly the packages the per-package rule lets user pull."""
    listed = set(access.visible_packages(user).values_list("name", flat=True))
    allowed = {p.name for p in Package.objects.all() if "pull" in access.permitted_actions(user, p, p.namespace)}
    assert listed == allowed


class TestInheritOff:
    def test_the_package_s_own_grants_apply_and_repository_grants_do_not(self, people, app_repo):
        app = package("alice/app")
        services.package_connect(package=app, repository=app_repo, inherit_access=False)
        services.repository_grant(repository=app_repo, user=people["bob"], role="write")
        assert role(people["bob"], app) is None
        package_grant(package=app, user=people["bob"], role="read")
        assert role(people["bob"], app) == "read"
        assert not access.administers(people["bob"], app)
        agrees(people["bob"])


class TestInheritOn:
    def test_repository_role_replaces_the_package_s_own_grants(self, people, app_repo):
        app = package("alice/app")
        package_grant(package=app, user=people["bob"], role="admin")
        services.package_connect(package=app, repository=app_repo, inherit_access=True)
        assert role(people["bob"], app) is None
        assert not access.administers(people["bob"], app)
        services.repository_grant(repository=app_repo, user=people["bob"], role="write")
        assert role(people["bob"], app) == "write"
        agrees(people["bob"])

    def test_the_holder_stays_admin(self, people, app_repo):
        app = package("alice/app")
        services.package_connect(package=app, repository=app_repo, inherit_access=True)
        assert access.administers(people["alice"], app)
        agrees(people["alice"])

    def test_team_grants_on_the_repository_count_and_the_best_role_wins(self, people, acme_repo):
        web = package("acme/web")
        services.package_connect(package=web, repository=acme_repo, inherit_access=True)
        mike = people["mike"]
        assert role(mike, web) is None
        services.repository_grant(repository=acme_repo, team=people["devs"], role="read")
        assert role(mike, web) == "read"
        services.repository_grant(repository=acme_repo, user=mike, role="admin")
        assert role(mike, web) == "admin"
        assert access.administers(mike, web)
        agrees(mike)
        agrees(people["bob"])

    def test_org_owner_is_admin_whatever_the_repository_says(self, people, acme_repo):
        web = package("acme/web")
        services.package_connect(package=web, repository=acme_repo, inherit_access=True)
        assert access.administers(people["olga"], web)

    def test_disconnecting_brings_back_the_package_s_own_grants(self, people, app_repo):
        app = package("alice/app")
        package_grant(package=app, user=people["bob"], role="read")
        services.package_connect(package=app, repository=app_repo, inherit_access=True)
        assert role(people["bob"], app) is None
        services.package_disconnect(package=app)
        assert role(people["bob"], app) == "read"
        agrees(people["bob"])

    def test_visible_packages_agrees_with_the_rule_across_a_mix(self, people, app_repo, acme_repo):
        for name in ("alice/a", "alice/b", "alice/c", "acme/x", "acme/y"):
            package(name)
        package("alice/pub", "public")
        package("acme/internal", "internal")
        a, b, x = (Package.objects.get(name=n) for n in ("alice/a", "alice/b", "acme/x"))
        services.package_connect(package=a, repository=app_repo, inherit_access=True)
        services.package_connect(package=b, repository=app_repo, inherit_access=False)
        services.package_connect(package=x, repository=acme_repo, inherit_access=True)
        package_grant(package=a, user=people["bob"], role="read")
        package_grant(package=b, user=people["bob"], role="read")
        services.repository_grant(repository=acme_repo, team=people["devs"], role="read")
        for user in ("alice", "bob", "olga", "mike"):
            agrees(people[user])
        assert set(access.visible_packages(people["bob"]).values_list("name", flat=True)) == {
            "alice/b", "alice/pub", "acme/internal"}
        assert "acme/x" in access.visible_packages(people["mike"]).values_list("name", flat=True)


def refused(caller, name, action):
    pkg = Package.objects.filter(name=name).first()
    return access.refusal(v2_request(), caller, name, action, pkg)


class TestJobs:
    def test_connected_repository_is_admin(self, app_repo):
        app = package("alice/app")
        services.package_connect(package=app, repository=app_repo)
        caller = job_caller(job_for(app_repo))
        assert access.caller_permitted(caller, app) == access.ALL_ACTIONS
        assert access.caller_administers(caller, app)
        for action in ("pull", "push", "delete"):
            assert refused(caller, "alice/app", action) is None

    @pytest.mark.parametrize("ci_role, actions", [("read", {"pull"}), ("write", {"pull", "push"}),
                                                  ("admin", {"pull", "push", "delete"})])
    def test_ci_access_roles(self, app_repo, people, ci_role, actions):
        lib = package("acme/lib")
        services.package_repository_access_set(package=lib, repository=app_repo, role=ci_role)
        caller = job_caller(job_for(app_repo))
        assert access.caller_permitted(caller, lib) == actions
        assert access.caller_administers(caller, lib) == (ci_role == "admin")
        assert access.grant(caller, {"acme/lib": {"pull", "push", "delete"}}) == {"acme/lib": frozenset(actions)}

    def test_push_to_an_unconnected_package_of_its_owner_is_denied_saying_how_to_connect_it(self, app_repo):
        package("alice/other")
        error = refused(job_caller(job_for(app_repo)), "alice/other", "push")
        assert isinstance(error, Denied)
        assert str(error.message) == (
            "alice/other is not connected to https://github.com/alice/app and does not give it write access; "
            "an admin of alice/other connects it on http://testserver/alice/packages/container/other/-/settings "
            "(Source repository / Manage CI access)")

    def test_read_role_may_not_push(self, app_repo, people):
        lib = package("alice/lib")
        services.package_repository_access_set(package=lib, repository=app_repo, role="read")
        error = refused(job_caller(job_for(app_repo)), "alice/lib", "push")
        assert isinstance(error, Denied) and "has the read role on alice/lib, not write" in error.message

    def test_a_new_package_in_its_namespace_may_be_created(self, app_repo):
        caller = job_caller(job_for(app_repo))
        assert refused(caller, "alice/new", "push") is None
        assert access.grant(caller, {"alice/new": {"pull", "push"}}) == {"alice/new": frozenset({"pull", "push"})}

    def test_a_new_package_outside_its_namespace_is_denied(self, app_repo, people):
        error = refused(job_caller(job_for(app_repo)), "acme/new", "push")
        assert isinstance(error, Denied)
        assert error.message == "a CI job of https://github.com/alice/app may create packages only under alice/"

    def test_a_hidden_package_of_another_owner_answers_like_a_missing_one(self, app_repo, people):
        package("acme/secret")
        caller = job_caller(job_for(app_repo))
        pushed, missing = refused(caller, "acme/secret", "push"), refused(caller, "acme/nothing", "push")
        assert type(pushed) is type(missing) and pushed.message == missing.message
        pulled, missing = refused(caller, "acme/secret", "pull"), refused(caller, "acme/nothing", "pull")
        assert isinstance(pulled, NameUnknown)
        assert pulled.message == missing.message.replace("acme/nothing", "acme/secret")
        assert access.grant(caller, {"acme/secret": {"pull"}}) == {}

    def test_a_ref_that_may_not_push_only_pulls(self, app_repo):
        app = package("alice/app")
        services.package_connect(package=app, repository=app_repo)
        caller = job_caller(job_for(app_repo, ref="refs/heads/feature"))
        assert refused(caller, "alice/app", "pull") is None
        error = refused(caller, "alice/app", "push")
        assert isinstance(error, Denied)
        assert error.message == (
            f"this job runs on refs/heads/feature; https://github.com/alice/app allows pushes only from "
            f"refs/heads/main,refs/tags/* (change them on http://testserver/alice/repositories/{app_repo.pk})")
        assert isinstance(refused(caller, "alice/new", "push"), Denied)
        assert access.caller_permitted(caller, app) == {"pull"}
        assert not access.caller_administers(caller, app)
        assert access.grant(caller, {"alice/app": {"pull", "push"}}) == {"alice/app": frozenset({"pull"})}

    def test_a_tag_ref_matching_a_glob_pushes(self, app_repo):
        caller = job_caller(job_for(app_repo, ref="refs/tags/v1.0"))
        assert refused(caller, "alice/new", "push") is None

    def test_public_and_internal_packages_are_pulled_but_not_pushed(self, app_repo, people):
        package("acme/pub", "public")
        package("acme/int", "internal")
        caller = job_caller(job_for(app_repo))
        for name in ("acme/pub", "acme/int"):
            assert refused(caller, name, "pull") is None
            error = refused(caller, name, "push")
            assert isinstance(error, Denied) and "is not connected to https://github.com/alice/app" in error.message

    def test_readable_packages_agrees_with_the_per_package_rule(self, app_repo, acme_repo, people):
        for name in ("alice/app", "alice/other", "acme/lib", "acme/web"):
            package(name)
        package("acme/pub", "public")
        services.package_connect(package=Package.objects.get(name="alice/app"), repository=app_repo)
        services.package_repository_access_set(package=Package.objects.get(name="acme/lib"), repository=app_repo,
                                               role="read")
        job = job_for(app_repo)
        from accounts import job_access
        listed = set(job_access.job_packages(job).values_list("name", flat=True))
        allowed = {p.name for p in Package.objects.all() if "pull" in access.caller_permitted(job_caller(job), p)}
        assert listed == allowed == {"alice/app", "acme/lib", "acme/pub"}

    def test_person_rules_are_untouched_by_a_user_caller(self, people, app_repo):
        app = package("alice/app")
        services.package_connect(package=app, repository=app_repo)
        assert access.caller_permitted(user_caller(people["alice"]), app) == access.ALL_ACTIONS
        assert access.caller_permitted(user_caller(people["bob"]), app) == frozenset()
        assert isinstance(refused(user_caller(people["bob"]), "alice/app", "pull"), NameUnknown)


def test_the_decisions_write_nothing(people, app_repo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    app = package("alice/app")
    services.package_connect(package=app, repository=app_repo, inherit_access=True)
    job, bob = job_caller(job_for(app_repo)), user_caller(people["bob"])
    with CaptureQueriesContext(connection) as queries:
        for caller in (job, bob):
            for name in ("alice/app", "alice/new", "acme/new"):
                for action in ("pull", "push", "delete"):
                    refused(caller, name, action)
            access.grant(caller, {"alice/new": {"push"}, "alice/app": {"pull", "push", "delete"}})
            access.caller_permitted(caller, app)
            access.caller_administers(caller, app)
        list(access.visible_packages(people["bob"]))
    statements = [q["sql"].split(None, 1)[0].upper() for q in queries.captured_queries]
    assert statements and set(statements) <= {"SELECT"}
    assert not Package.objects.filter(name__in=["alice/new", "acme/new"]).exists()
