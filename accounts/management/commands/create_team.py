"""manage.py create_team ORG TEAM [--member USERNAME ...]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._helpers import get_organization, get_user
from accounts.services import team_create, team_member_add


class Command(BaseCommand):
    help = "Create a team in an organization; members must already belong to the organization."

    def add_arguments(self, parser):
        parser.add_argument("organization")
        parser.add_argument("team")
        parser.add_argument("--member", action="append", default=[])

    def handle(self, *args, organization, team, member, **options):
        organization = get_organization(organization)
        try:
            created = team_create(organization=organization, name=team)
            for username in member:
                team_member_add(team=created, user=get_user(username))
        except ValidationError as e:
            raise CommandError(" ".join(e.messages))
        self.stdout.write(f"created team {created}")
