"""Organization pages: create, members and roles, teams; only owners manage, outsiders see nothing."""

import pytest
from django.test import Client

from accounts.models import Membership, Organization, Team
from accounts.services import membership_set, organization_create, team_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user):
    return {name: make_user(name) for name in ("olga", "pete", "quin")}


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def acme(people):
    organization = organization_create(name="acme", owner=people["olga"])
    membership_set(organization=organization, user=people["pete"])
    return organization


def test_create_an_organization_and_own_it(people):
    client = browser(people["olga"])
    response = client.post("/orgs", {"name": "newco"})
    assert response.status_code == 302 and response["Location"] == "/orgs/newco"
    assert Membership.objects.get(organization__name="newco").role == "owner"
    listing = client.get("/orgs").content.decode()
    assert "newco" in listing and "owner" in listing


@pytest.mark.parametrize("name", ["NewCo", "olga", "settings"])
def test_organization_names_follow_the_namespace_rules(people, name):
    response = browser(people["olga"]).post("/orgs", {"name": name})
    assert response.status_code == 400
    assert not Organization.objects.filter(name=name).exists()


def test_owner_adds_changes_and_removes_members(acme, people):
    client = browser(people["olga"])
    assert client.post("/orgs/acme/members", {"username": "quin", "role": "member"}).status_code == 302
    assert client.post("/orgs/acme/members", {"username": "quin", "role": "owner"}).status_code == 302
    assert Membership.objects.get(organization=acme, user=people["quin"]).role == "owner"
    assert client.post("/orgs/acme/members/quin/remove").status_code == 302
    assert not Membership.objects.filter(organization=acme, user=people["quin"]).exists()
    client.get("/orgs/acme")  # shows and consumes the messages
    page = client.get("/orgs/acme").content.decode()
    assert "pete" in page and "quin" not in page


def test_unknown_user_is_explained(acme, people):
    response = browser(people["olga"]).post("/orgs/acme/members", {"username": "nobody", "role": "member"})
    assert response.status_code == 400
    assert "There is no user" in response.content.decode()


def test_the_last_owner_stays(acme, people):
    client = browser(people["olga"])
    response = client.post("/orgs/acme/members", {"username": "olga", "role": "member"})
    assert response.status_code == 400
    assert "last owner" in response.content.decode()
    client.post("/orgs/acme/members/olga/remove")
    assert Membership.objects.get(organization=acme, user=people["olga"]).role == "owner"


def test_teams(acme, people):
    client = browser(people["olga"])
    assert client.post("/orgs/acme/teams", {"name": "devs"}).status_code == 302
    assert client.post("/orgs/acme/teams", {"name": "devs"}).status_code == 400
    client.post("/orgs/acme/teams/devs/members", {"username": "pete"})
    team = Team.objects.get(organization=acme, name="devs")
    assert list(team.members.values_list("username", flat=True)) == ["pete"]
    # Only members of the organization join its teams.
    client.post("/orgs/acme/teams/devs/members", {"username": "quin"})
    assert list(team.members.values_list("username", flat=True)) == ["pete"]
    client.post("/orgs/acme/teams/devs/members/pete/remove")
    assert not team.members.exists()


def test_members_see_but_do_not_manage(acme, people):
    client = browser(people["pete"])
    page = client.get("/orgs/acme")
    assert page.status_code == 200 and "Remove" not in page.content.decode()
    assert client.post("/orgs/acme/members", {"username": "quin", "role": "member"}).status_code == 404
    assert client.post("/orgs/acme/teams", {"name": "devs"}).status_code == 404
    assert not Membership.objects.filter(organization=acme, user=people["quin"]).exists()


def test_outsiders_see_nothing(acme, people):
    client = browser(people["quin"])
    assert client.get("/orgs/acme").status_code == 404
    assert client.get("/orgs/missing").status_code == 404
    assert Client().get("/orgs/acme").status_code == 302


def test_removing_a_member_takes_them_out_of_teams(acme, people):
    team = team_create(organization=acme, name="devs")
    team.members.add(people["pete"])
    browser(people["olga"]).post("/orgs/acme/members/pete/remove")
    assert not team.members.exists()
