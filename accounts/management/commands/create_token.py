"""manage.py create_token USERNAME --scopes write:packages,delete:packages [--expires DAYS]"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.services import token_create, user_create


class Command(BaseCommand):
    help = "Create a personal access token for USERNAME and print it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--scopes", default="read:packages",
                            help="comma-separated: read:packages, write:packages, delete:packages")
        parser.add_argument("--expires", type=int, metavar="DAYS",
                            help="days until the token expires (default: never)")
        parser.add_argument("--note", default="created with manage.py create_token")
        parser.add_argument("--create-user", action="store_true",
                            help="create USERNAME first if it does not exist (it signs in with tokens only)")

    def handle(self, *args, username, scopes, expires, note, create_user, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            if not create_user:
                raise CommandError(f"there is no user {username!r}; add --create-user to create it")
            try:
                user = user_create(username=username)
            except ValidationError as e:
                raise CommandError(f"cannot create user {username!r}: {' '.join(e.messages)}")
        if expires is not None and expires < 0:
            raise CommandError("--expires must be a number of days, 0 or more")
        expires_at = timezone.now() + timedelta(days=expires) if expires is not None else None
        try:
            _, token = token_create(user=user, scopes=scopes.split(","), note=note, expires_at=expires_at)
        except ValueError as e:
            raise CommandError(str(e))
        self.stdout.write(token)
