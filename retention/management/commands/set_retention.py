"""python manage.py set_retention OWNER[/NAME] [rules] | --off | --clear: set a retention policy."""

from django.core.management.base import BaseCommand, CommandError

from registry.models import Package
from retention.services import PolicyInvalid, policy_delete, policy_set


class Command(BaseCommand):
    help = ("Set the retention policy of an owner (all its packages) or of OWNER/NAME (overriding the owner's). "
            "Rules not given are cleared; --off keeps a package's versions whatever its owner's policy says; "
            "--clear removes the policy (a package then follows its owner's).")

    def add_arguments(self, parser):
        parser.add_argument("target", metavar="OWNER[/NAME]")
        parser.add_argument("--keep-last", type=int, metavar="N",
                            help="keep the N most recently pushed tagged versions")
        parser.add_argument("--keep-tags", default="", metavar="REGEX",
                            help="never delete a version with a tag this pattern matches in full")
        parser.add_argument("--delete-untagged-after", type=int, metavar="DAYS")
        parser.add_argument("--delete-tagged-after", type=int, metavar="DAYS")
        parser.add_argument("--keep-pulled-within", type=int, metavar="DAYS")
        parser.add_argument("--off", action="store_true", help="turn the policy off (delete nothing)")
        parser.add_argument("--clear", action="store_true", help="remove the policy")

    def handle(self, *args, target, off, clear, **options):
        owner, _, name = target.partition("/")
        package = None
        if name:
            package = Package.objects.filter(name=target).first()
            if package is None:
                raise CommandError(f"there is no package {target}")
        if clear:
            found = policy_delete(owner=owner, package=package)
            self.stdout.write(f"removed the retention policy of {target}" if found else f"{target} had no policy")
            return
        try:
            policy_set(owner=owner, package=package, enabled=not off,
                       keep_last=options["keep_last"], keep_tags=options["keep_tags"],
                       delete_untagged_after_days=options["delete_untagged_after"],
                       delete_tagged_after_days=options["delete_tagged_after"],
                       keep_pulled_within_days=options["keep_pulled_within"])
        except PolicyInvalid as e:
            raise CommandError(str(e)) from None
        self.stdout.write(f"retention policy of {target} is {'off' if off else 'set'}")
