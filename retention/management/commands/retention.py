"""python manage.py retention [--dry-run] [OWNER[/NAME]]: apply the retention policies."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from registry.management.commands.gc import human
from retention.services import DEFAULT_GRACE, retention_run, retention_run_all


class Command(BaseCommand):
    help = ("Delete the versions retention policies select, as the package pages' delete does: restorable "
            "for 30 days, then purged by gc. Platforms of a deleted multi-arch version and its signatures "
            "and attestations go with it. Safe beside pushes: nothing younger than --grace is deleted.")

    def add_arguments(self, parser):
        parser.add_argument("target", nargs="?", metavar="OWNER[/NAME]", help="default: every owner with a policy")
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
        parser.add_argument("--grace", type=int, default=int(DEFAULT_GRACE.total_seconds()), metavar="SECONDS",
                            help="never delete versions pushed within this (default: %(default)s)")

    def handle(self, *args, target, dry_run, grace, **options):
        if grace < 0:
            raise CommandError("--grace must be zero or more seconds")
        grace = timedelta(seconds=grace)
        if target:
            owner, _, name = target.partition("/")
            results = [(owner, retention_run(owner=owner, name=name or None, dry_run=dry_run, grace=grace)[0])]
        else:
            results = retention_run_all(dry_run=dry_run, grace=grace)
        verb = "would delete" if dry_run else "deleted"
        for owner, result in results:
            for item in result.deleted:
                tags = f" (tags: {', '.join(item['tags'])})" if item["tags"] else ""
                of = f" with {item['of']}" if item["of"] else ""
                self.stdout.write(f"{verb} {item['name']}@{item['digest']}{tags}{of}")
            for name_digest in result.kept_changed:
                self.stdout.write(f"kept {name_digest}: it changed during the run")
            self.stdout.write(f"{owner}: {verb} {len(result.deleted)} manifests, "
                              f"{'would free' if dry_run else 'freed'} {result.freed_bytes} bytes "
                              f"({human(result.freed_bytes)})")
