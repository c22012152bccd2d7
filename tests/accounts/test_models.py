"""Names, tokens and grants at the model and service level."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts import tokens
from accounts.models import Namespace, PackagePermission
from accounts.names import validate_namespace_name
from accounts.services import (
    organization_create,
    package_grant,
    team_create,
    token_create,
    user_create,
)
from registry.models import Package


@pytest.mark.parametrize("name", ["alice", "a1", "my-org", "my.org", "my_org", "a__b", "x" * 64])
def test_valid_namespace_names(name):
    validate_namespace_name(name)


@pytest.mark.parametrize("name", ["Alice", "a b", "-a", "a-", "a/b", "", "x" * 65, "v2", "settings", "a@b"])
def test_invalid_namespace_names(name):
    with pytest.raises(ValidationError):
        validate_namespace_name(name)


def test_generated_tokens_are_recognizable_and_random():
    values = {tokens.generate() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert value.startswith("berth_pat_") and tokens.looks_like_token(value)
        assert value[10:].isalnum() and len(value) == 50


@pytest.mark.parametrize("asked, stored", [
    (["write:packages"], ["read:packages", "write:packages"]),
    (["delete:packages", "read:packages"], ["read:packages", "delete:packages"]),
    (["read:packages", "read:packages"], ["read:packages"]),
])
def test_scopes_are_normalized(asked, stored):
    assert tokens.normalize_scopes(asked) == stored


@pytest.mark.django_db
def test_token_stores_only_a_hash():
    pat, value = token_create(user=user_create(username="mo"), scopes=["read:packages"])
    assert pat.token_hash == tokens.hash_token(value) and value not in pat.token_hash
    assert pat.hint == value[:14] and len(pat.hint) < len(value) // 2
    assert tokens.authenticate("mo", value) == pat
    with pytest.raises(tokens.InvalidToken):
        tokens.authenticate("mo", value[:-1] + ("a" if value[-1] != "a" else "b"))


@pytest.mark.django_db
def test_namespace_is_shared_by_users_and_organizations():
    mo = user_create(username="mo")
    with pytest.raises(ValidationError, match="already taken"):
        organization_create(name="mo", owner=mo)
    organization_create(name="acme", owner=mo)
    with pytest.raises(ValidationError, match="already taken"):
        user_create(username="acme")
    assert Namespace.objects.get(name="acme").organization.name == "acme"


@pytest.mark.django_db
def test_a_namespace_has_exactly_one_holder():
    with pytest.raises(IntegrityError):
        Namespace.objects.create(name="nobody")


@pytest.mark.django_db
def test_one_grant_per_user_and_package_is_replaced_not_duplicated():
    mo = user_create(username="mo")
    package = Package.objects.create(name="mo/app", namespace="mo")
    package_grant(package=package, user=mo, role="read")
    package_grant(package=package, user=mo, role="write")
    assert list(PackagePermission.objects.values_list("role", flat=True)) == ["write"]
    with pytest.raises(IntegrityError):
        PackagePermission.objects.create(package=package, role="read")


@pytest.mark.django_db
def test_teams_only_get_grants_on_their_organizations_packages():
    mo = user_create(username="mo")
    team = team_create(organization=organization_create(name="acme", owner=mo), name="devs")
    with pytest.raises(ValidationError):
        package_grant(package=Package.objects.create(name="mo/app", namespace="mo"), team=team, role="read")


@pytest.mark.django_db
def test_a_name_claimed_concurrently_is_refused_cleanly(monkeypatch):
    from accounts import services

    user_create(username="mo")
    monkeypatch.setattr(services, "_claim_namespace", lambda name: None)  # as if the check raced
    with pytest.raises(ValidationError, match="already taken"):
        user_create(username="mo")
    with pytest.raises(ValidationError, match="already taken"):
        organization_create(name="mo", owner=Namespace.objects.get(name="mo").user)
