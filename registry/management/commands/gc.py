"""python manage.py gc: purge packages and versions deleted over 30 days ago, then remove unreferenced
blobs, expired uploads and stray stored bytes."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from registry.services.gc import DEFAULT_GRACE, gc_run


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


class Command(BaseCommand):
    help = ("Purge packages and versions deleted in the web UI over 30 days ago. Remove blobs no manifest "
            "references any more, expired uploads, and stored bytes nothing refers to. "
            "Safe while the registry serves traffic: nothing younger than --grace is removed.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print what would be removed, remove nothing")
        parser.add_argument("--grace", type=int, default=int(DEFAULT_GRACE.total_seconds()), metavar="SECONDS",
                            help="keep anything younger than this; longer than your longest push "
                                 "(default: %(default)s, one day)")

    def handle(self, *args, dry_run, grace, **options):
        if grace < 0:
            raise CommandError("--grace must be zero or more seconds")
        report = gc_run(grace=timedelta(seconds=grace), dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for name in report.packages:
            self.stdout.write(f"{verb} deleted package {name}")
        for name in report.versions:
            self.stdout.write(f"{verb} deleted version {name}")
        for upload_id, size in report.uploads:
            self.stdout.write(f"{verb} expired upload {upload_id} ({human(size)}, {size} bytes)")
        for digest, size in report.blobs:
            self.stdout.write(f"{verb} blob {digest} ({human(size)}, {size} bytes)")
        for item in report.stored:
            self.stdout.write(f"{verb} stray {item.kind} {item.key} ({human(item.size)}, {item.size} bytes)")
        count = (len(report.packages) + len(report.versions) + len(report.uploads) + len(report.blobs)
                 + len(report.stored))
        self.stdout.write(f"{'Would remove' if dry_run else 'Removed'} {count} item(s), "
                          f"{human(report.total_size)} ({report.total_size} bytes) in all.")
