"""manage.py create_org NAME --owner USERNAME [--member USERNAME ...]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._helpers import get_user
from accounts.services import membership_set, organization_create


class Command(BaseCommand):
    help = "Create an organization with its first owner and, optionally, members."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True)
        parser.add_argument("--member", action="append", default=[])

    def handle(self, *args, name, owner, member, **options):
        try:
            organization = organization_create(name=name, owner=get_user(owner))
        except ValidationError as e:
            raise CommandError(f"cannot create organization {name!r}: {' '.join(e.messages)}")
        for username in member:
            membership_set(organization=organization, user=get_user(username))
        self.stdout.write(f"created organization {organization}")
