"""Download counting: shard rows per pull, folded into Manifest.downloads and Package.downloads."""

import itertools
import threading

import pytest
from django.db import connection

from registry.models import Manifest, Package, PullCount
from registry.services import downloads
from registry.services.downloads import download_count, download_fold
from registry.services.gc import gc_run
from tests.packages_ui.helpers import push_labelled, push_multiarch


def manifest(name: str, digest: str) -> Manifest:
    return Manifest.objects.get(package__name=name, digest=digest)


def totals(name: str) -> tuple[int, dict[str, int]]:
    package = Package.all_objects.get(name=name)
    return package.downloads, dict(package.manifests.values_list("digest", "downloads"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_pulls_on_many_threads_all_count(api):
    digest = push_labelled(api)
    target = manifest("alice/app", digest)
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)
    failures = []

    def pull_many():
        try:
            start.wait()
            for _ in range(per_thread):
                download_count(manifest=target)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=pull_many) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    # Each thread counted on its own row, none waiting for another's.
    rows = PullCount.objects.filter(manifest=target)
    assert rows.count() == threads
    assert sorted(rows.values_list("pulls", flat=True)) == [per_thread] * threads
    download_fold()
    assert totals("alice/app") == (threads * per_thread, {digest: threads * per_thread})
    assert not PullCount.objects.exists()


@pytest.mark.django_db
def test_a_thread_keeps_its_shard_and_its_siblings_get_others():
    seen = []
    for _ in range(4):
        thread = threading.Thread(target=lambda: seen.append((downloads.shard(), downloads.shard())))
        thread.start()
        thread.join()
    assert all(first == second for first, second in seen)
    assert len({first for first, _ in seen}) == 4
    assert all(0 <= first < downloads.SHARDS for first, _ in seen)


@pytest.mark.django_db
def test_folding_again_adds_nothing(api):
    digest = push_labelled(api)
    download_count(manifest=manifest("alice/app", digest))
    download_fold()
    download_fold()
    assert totals("alice/app") == (1, {digest: 1})
    download_count(manifest=manifest("alice/app", digest))
    download_fold()
    assert totals("alice/app") == (2, {digest: 2})


@pytest.mark.django_db
def test_platforms_of_an_index_count_for_themselves_not_again_for_the_package(api):
    index, children = push_multiarch(api)
    for digest in (index, children[0], children[1], children[0]):
        download_count(manifest=manifest("alice/multi", digest))
    download_fold()
    package, per_manifest = totals("alice/multi")
    assert package == 1
    assert [per_manifest[d] for d in (index, *children[:2])] == [1, 2, 1]


@pytest.mark.django_db
def test_pulls_of_a_deleted_manifest_still_count_for_its_package(api):
    first = push_labelled(api, "1")
    second = push_labelled(api, "2", labels={"org.opencontainers.image.version": "2"})
    download_count(manifest=manifest("alice/app", first))
    download_count(manifest=manifest("alice/app", second))
    manifest("alice/app", first).delete()
    download_fold()
    assert totals("alice/app") == (2, {second: 1})


@pytest.mark.django_db
def test_a_fold_for_some_packages_leaves_the_others(api):
    app = push_labelled(api)
    other = push_labelled(api, name="alice/other")
    download_count(manifest=manifest("alice/app", app))
    download_count(manifest=manifest("alice/other", other))
    download_fold(packages=Package.objects.filter(name="alice/app").values("pk"))
    assert totals("alice/app") == (1, {app: 1})
    assert totals("alice/other") == (0, {other: 0})
    assert PullCount.objects.get().manifest.digest == other


@pytest.mark.django_db
def test_gc_folds_every_count_and_a_dry_run_does_not(api):
    digest = push_labelled(api)
    download_count(manifest=manifest("alice/app", digest))
    gc_run(dry_run=True)
    assert totals("alice/app") == (0, {digest: 0})
    gc_run()
    assert totals("alice/app") == (1, {digest: 1})
    assert not PullCount.objects.exists()


def test_processes_start_at_shards_of_their_own(monkeypatch):
    """Workers with consecutive pids don't share their threads' rows (as pid + thread number did)."""
    firsts = []
    for pid in range(1000, 1016):
        # A worker's first thread, as if the process had just forked with this pid.
        monkeypatch.setattr(downloads.os, "getpid", lambda pid=pid: pid)
        monkeypatch.setattr(downloads, "_threads", itertools.count())
        thread = threading.Thread(target=lambda: firsts.append(downloads.shard()))
        thread.start()
        thread.join()
    # pid + thread number put these 16 workers' first threads on 16 consecutive rows; random
    # first shards spread over all of them (all 16 within 64 of each other: about 1e-17).
    assert max(firsts) - min(firsts) > 64
    assert all(0 <= first < downloads.SHARDS for first in firsts)
