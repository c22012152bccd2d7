"""manage.py commands for scripted set-ups: tokens, organizations, teams, grants, visibility."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts import tokens
from accounts.models import Membership, Organization, PackagePermission, PersonalAccessToken
from registry.models import Package
from tests.accounts.helpers import get_token, granted
from tests.helpers import basic_auth

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_create_token_prints_a_token_that_logs_in(make_user):
    make_user("ivan")
    value = run("create_token", "ivan", "--scopes", "write:packages,delete:packages")
    assert tokens.looks_like_token(value)
    pat = PersonalAccessToken.objects.get(user__username="ivan")
    assert pat.scopes == ["read:packages", "write:packages", "delete:packages"]
    assert pat.expires_at is None
    response = get_token(Client(), "repository:ivan/app:pull,push,delete", auth=basic_auth("ivan", value))
    assert granted(response) == {"ivan/app": ["delete", "pull", "push"]}


def test_create_token_with_expiry(make_user):
    make_user("ivan")
    run("create_token", "ivan", "--scopes", "read:packages", "--expires", "7")
    pat = PersonalAccessToken.objects.get(user__username="ivan")
    assert round((pat.expires_at - pat.created_at).total_seconds() / 86400) == 7


def test_create_token_creates_the_user_only_when_asked():
    with pytest.raises(CommandError, match="--create-user"):
        run("create_token", "judy", "--scopes", "read:packages")
    value = run("create_token", "judy", "--scopes", "read:packages", "--create-user")
    assert PersonalAccessToken.objects.get(user__username="judy").token_hash == tokens.hash_token(value)
    with pytest.raises(CommandError, match="cannot create user"):
        run("create_token", "Not Valid", "--create-user")


def test_create_token_rejects_unknown_scopes(make_user):
    make_user("ivan")
    with pytest.raises(CommandError, match="unknown scope write:everything"):
        run("create_token", "ivan", "--scopes", "write:everything")


def test_organization_team_grant_and_visibility_commands(make_user, client_for):
    owner, member = make_user("kim"), make_user("lee")
    run("create_org", "acme", "--owner", "kim")
    run("add_member", "acme", "lee")
    run("create_team", "acme", "readers", "--member", "lee")
    organization = Organization.objects.get(name="acme")
    assert Membership.objects.get(organization=organization, user=owner).role == "owner"
    assert Membership.objects.get(organization=organization, user=member).role == "member"
    from tests.registry.helpers import push_image

    push_image(client_for(owner), "1", name="acme/app")
    run("grant", "acme/app", "read", "--team", "acme/readers")
    assert PackagePermission.objects.get(team__name="readers").role == "read"
    assert client_for(member).get("/v2/acme/app/manifests/1").status_code == 200
    run("set_visibility", "acme/app", "public")
    assert Package.objects.get(name="acme/app").visibility == "public"
    assert Client().get("/v2/acme/app/manifests/1").status_code == 200


def test_revoke_token_command(make_user):
    make_user("ivan")
    value = run("create_token", "ivan", "--scopes", "read:packages")
    assert run("revoke_token", "ivan", "--all") == "revoked 1 token of ivan"
    assert get_token(Client(), auth=basic_auth("ivan", value)).status_code == 401
    with pytest.raises(CommandError, match="no active token"):
        run("revoke_token", "ivan", "--all")


def test_commands_explain_missing_things(make_user):
    with pytest.raises(CommandError, match="no organization 'nope'"):
        run("add_member", "nope", "x")
    with pytest.raises(CommandError, match="no package 'a/b'; push to it first"):
        run("set_visibility", "a/b", "public")
