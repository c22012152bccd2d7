"""manage.py remove_repository OWNER REPOSITORY_URL"""

from django.core.management.base import BaseCommand, CommandError

from sources.services import repository_find, repository_remove


class Command(BaseCommand):
    help = "Forget a source repository: its CI jobs can no longer sign in, its packages are disconnected."

    def add_arguments(self, parser):
        parser.add_argument("owner", help="the user or organization the repository belongs to")
        parser.add_argument("url", help="the repository's URL, as add_repository registered it")

    def handle(self, *args, owner, url, **options):
        repository = repository_find(url)
        if repository is None:
            raise CommandError(f"{url} is not a registered repository")
        if repository.namespace.name != owner:
            raise CommandError(f"{repository.url} belongs to {repository.namespace.name}, not {owner}")
        repository_remove(repository=repository)
        self.stdout.write(f"removed {repository.url} from {owner}")
