"""manage.py add_repository and remove_repository."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sources.models import SourceRepository

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_add_with_push_refs_then_remove(people):
    out = run("add_repository", "acme", "https://github.com/acme/web.git", "--push-refs", "refs/heads/main,refs/tags/*")
    assert out == "registered https://github.com/acme/web to acme (pushes from refs/heads/main,refs/tags/*)\n"
    repository = SourceRepository.objects.get()
    assert (repository.namespace.name, repository.push_refs) == ("acme", ["refs/heads/main", "refs/tags/*"])
    with pytest.raises(CommandError, match="belongs to acme, not alice"):
        run("remove_repository", "alice", "https://github.com/acme/web")
    assert run("remove_repository", "acme", "https://github.com/acme/web/") == \
        "removed https://github.com/acme/web from acme\n"
    assert not SourceRepository.objects.exists()


def test_unknown_owner(people):
    with pytest.raises(CommandError, match="there is no user or organization 'nobody'"):
        run("add_repository", "nobody", "https://github.com/nobody/app")


def test_a_url_matching_no_issuer_lists_the_templates(people):
    with pytest.raises(CommandError) as e:
        run("add_repository", "alice", "https://example.org/alice/app")
    assert "https://github.com/{repository}, https://gitlab.example.com/{repository}" in str(e.value)


def test_a_repository_registered_by_another_owner(people):
    run("add_repository", "alice", "https://github.com/alice/app")
    with pytest.raises(CommandError, match="already registered by another owner"):
        run("add_repository", "acme", "https://github.com/alice/app")


def test_removing_an_unknown_repository(people):
    with pytest.raises(CommandError, match="is not a registered repository"):
        run("remove_repository", "alice", "https://github.com/alice/app")
