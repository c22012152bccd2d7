"""manage.py revoke_token USERNAME (--all | --id ID | --note NOTE)"""

from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._helpers import get_user
from accounts.services import token_revoke


class Command(BaseCommand):
    help = "Revoke personal access tokens of a user; registry tokens issued from them stop at once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true")
        which.add_argument("--id", type=int)
        which.add_argument("--note")

    def handle(self, *args, username, all, id, note, **options):
        tokens = get_user(username).tokens.filter(revoked_at__isnull=True)
        if id is not None:
            tokens = tokens.filter(pk=id)
        elif note is not None:
            tokens = tokens.filter(note=note)
        revoked = 0
        for token in tokens:
            token_revoke(token=token)
            revoked += 1
        if not revoked:
            raise CommandError(f"{username} has no active token matching that")
        self.stdout.write(f"revoked {revoked} token{'s' if revoked != 1 else ''} of {username}")
