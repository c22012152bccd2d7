"""manage.py add_repository OWNER REPOSITORY_URL [--push-refs GLOB,GLOB]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Namespace
from sources.services import repository_add


class Command(BaseCommand):
    help = "Register a source repository to a user or organization, so its CI jobs may sign in with their identity."

    def add_arguments(self, parser):
        parser.add_argument("owner", help="the user or organization the repository belongs to")
        parser.add_argument("url", help="the repository's URL, e.g. https://github.com/alice/app")
        parser.add_argument("--push-refs", default="",
                            help="comma-separated ref globs whose jobs may push (default: every ref), "
                                 "e.g. refs/heads/main,refs/tags/*")

    def handle(self, *args, owner, url, push_refs, **options):
        if not Namespace.objects.filter(name=owner).exists():
            raise CommandError(f"there is no user or organization {owner!r}")
        try:
            repository = repository_add(namespace=owner, url=url, push_refs=push_refs)
        except ValidationError as e:
            raise CommandError(" ".join(e.messages))
        refs = ",".join(repository.push_refs) or "every ref"
        self.stdout.write(f"registered {repository.url} to {owner} (pushes from {refs})")
