"""python manage.py set_quota OWNER BYTES|none: limit the bytes an owner's packages may hold."""

from django.core.management.base import BaseCommand, CommandError

from retention.services import quota_set


class Command(BaseCommand):
    help = ("Set OWNER's storage quota in bytes (its live versions' manifests and unique blobs), or 'none' to "
            "remove it. Pushes that would go over it are refused; pulls are not affected.")

    def add_arguments(self, parser):
        parser.add_argument("owner")
        parser.add_argument("limit", metavar="BYTES|none")

    def handle(self, *args, owner, limit, **options):
        if limit.lower() == "none":
            quota_set(owner=owner, limit_bytes=None)
            self.stdout.write(f"{owner} has no quota")
            return
        try:
            limit_bytes = int(limit)
        except ValueError:
            raise CommandError(f"BYTES must be a whole number of bytes or 'none', not {limit!r}") from None
        if limit_bytes < 0:
            raise CommandError("BYTES must be 0 or more")
        quota_set(owner=owner, limit_bytes=limit_bytes)
        self.stdout.write(f"{owner}'s quota is {limit_bytes} bytes")
