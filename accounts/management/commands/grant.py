"""manage.py grant PACKAGE read|write|admin (--user USERNAME | --team ORG/TEAM)"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._helpers import get_organization, get_package, get_team, get_user
from accounts.models import PackagePermission
from accounts.services import package_grant


class Command(BaseCommand):
    help = "Give a user or a team a role on a package (replacing the grant they had)."

    def add_arguments(self, parser):
        parser.add_argument("package")
        parser.add_argument("role", choices=PackagePermission.Role.values)
        grantee = parser.add_mutually_exclusive_group(required=True)
        grantee.add_argument("--user")
        grantee.add_argument("--team", help="ORG/TEAM")

    def handle(self, *args, package, role, user, team, **options):
        package = get_package(package)
        if user:
            grantee = {"user": get_user(user)}
        else:
            org_name, _, team_name = team.partition("/")
            grantee = {"team": get_team(get_organization(org_name), team_name)}
        try:
            package_grant(package=package, role=role, **grantee)
        except ValidationError as e:
            raise CommandError(" ".join(e.messages))
        self.stdout.write(f"granted {role} on {package} to {user or team}")
