"""manage.py add_member ORG USERNAME [--role owner|member] [--team TEAM ...]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._helpers import get_organization, get_team, get_user
from accounts.models import Membership
from accounts.services import membership_set, team_member_add


class Command(BaseCommand):
    help = "Add a user to an organization (or change their role), and optionally to its teams."

    def add_arguments(self, parser):
        parser.add_argument("organization")
        parser.add_argument("username")
        parser.add_argument("--role", choices=Membership.Role.values, default=Membership.Role.MEMBER)
        parser.add_argument("--team", action="append", default=[])

    def handle(self, *args, organization, username, role, team, **options):
        organization = get_organization(organization)
        user = get_user(username)
        membership_set(organization=organization, user=user, role=role)
        for name in team:
            try:
                team_member_add(team=get_team(organization, name), user=user)
            except ValidationError as e:
                raise CommandError(" ".join(e.messages))
        self.stdout.write(f"{user} is now {role} of {organization}")
