"""Retention: set policies, and apply them through the trash's soft delete (restorable for 30 days).

A run plans first (retention.rules over each package's facts), then deletes version by version, each
in its own transaction that locks the version and checks it again: a version that gained a tag since
it was planned is kept, and one pushed within the grace period never is planned. A dry run does the
same deletions inside a transaction it rolls back, so it lists exactly what a run would delete and
the bytes that would free, and changes nothing.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from registry.models import Manifest, Package, Tag
from registry.services import trash
from registry.services.usage import owner_usage
from retention import selectors
from retention.models import Quota, RetentionPolicy, RetentionRun
from retention.rules import select

DELETED_BY = "retention policy"
# Versions pushed more recently than this are never deleted: their push may still be going on.
DEFAULT_GRACE = timedelta(hours=1)
RULE_FIELDS = ("keep_last", "keep_tags", "delete_untagged_after_days", "delete_tagged_after_days",
               "keep_pulled_within_days")


class PolicyInvalid(ValueError):
    """A policy that can't be saved, with a message a person can act on."""


@dataclass(frozen=True)
class Planned:
    manifest_id: int
    package_name: str
    digest: str
    tags: tuple[str, ...]


@dataclass
class RunResult:
    deleted: list[dict] = field(default_factory=list)  # {"name", "digest", "tags", "of"} per deleted manifest
    freed_bytes: int = 0
    kept_changed: list[str] = field(default_factory=list)  # name@digest planned but changed during the run


def _validate(rules: dict) -> None:
    try:
        re.compile(rules.get("keep_tags") or "")
    except re.error as e:
        raise PolicyInvalid(f"keep_tags is not a valid regular expression: {e}") from None
    for name in RULE_FIELDS[:1] + RULE_FIELDS[2:]:
        value = rules.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise PolicyInvalid(f"{name} must be a whole number of at least 0, or null")


@transaction.atomic
def policy_set(*, owner: str, package: Package | None = None, enabled: bool = True, **rules) -> RetentionPolicy:
    """Create or replace the policy of owner (package None) or of package; rules not given are cleared."""
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise PolicyInvalid(f"unknown retention rules: {', '.join(sorted(unknown))}")
    _validate(rules)
    values = {name: rules.get(name) for name in RULE_FIELDS}
    values["keep_tags"] = values["keep_tags"] or ""
    if package is not None:
        policy, _ = RetentionPolicy.objects.update_or_create(
            package=package, defaults={"owner": package.namespace, "enabled": enabled, **values})
    else:
        policy, _ = RetentionPolicy.objects.update_or_create(
            owner=owner, package__isnull=True, defaults={"enabled": enabled, **values})
    return policy


def policy_delete(*, owner: str, package: Package | None = None) -> bool:
    """Remove the policy of owner or package (a package then follows its owner's); return whether one existed."""
    policies = (RetentionPolicy.objects.filter(package=package) if package is not None
                else RetentionPolicy.objects.filter(owner=owner, package__isnull=True))
    deleted, _ = policies.delete()
    return bool(deleted)


def retention_plan(*, packages, now: datetime, grace: timedelta) -> list[Planned]:
    """Return the top-level versions the policies of packages delete, package by package, oldest first."""
    planned = []
    for package in packages:
        policy = selectors.effective_policy(package=package)
        if policy is None:
            continue
        chosen = select(selectors.rules_of(policy), selectors.top_level_facts(package=package), now=now, grace=grace)
        digests = dict(Manifest.objects.filter(pk__in=[f.id for f in chosen]).values_list("pk", "digest"))
        planned += [Planned(f.id, package.name, digests[f.id], f.tags) for f in chosen]
    return planned


def _delete_one(item: Planned, result: RunResult) -> None:
    with transaction.atomic():
        manifest = Manifest.objects.select_for_update().filter(pk=item.manifest_id, deleted_at__isnull=True).first()
        if manifest is None:
            return
        tags = set(Tag.objects.filter(manifest=manifest).values_list("name", flat=True))
        if tags - set(item.tags):
            result.kept_changed.append(f"{item.package_name}@{item.digest}")
            return  # tagged during the run: someone wants it
        owner = item.package_name.partition("/")[0]
        before = owner_usage(owner=owner)
        try:
            deleted = trash.version_soft_delete(manifest=manifest, deleted_by=DELETED_BY)
        except trash.TrashRefused:
            result.kept_changed.append(f"{item.package_name}@{item.digest}")
            return  # became a platform of an index pushed during the run
        result.freed_bytes += before - owner_usage(owner=owner)
        for gone in sorted(deleted, key=lambda m: (m.pk != manifest.pk, m.pk)):
            result.deleted.append({"name": item.package_name, "digest": gone.digest, "tags": gone.deleted_tags,
                                   "of": "" if gone.pk == manifest.pk else item.digest})


def retention_apply(*, planned: list[Planned], dry_run: bool = False) -> RunResult:
    """Soft-delete the planned versions (with their platforms and referrers); a dry run rolls it all back."""
    result = RunResult()
    if not dry_run:
        for item in planned:
            _delete_one(item, result)
        return result
    with transaction.atomic():
        for item in planned:
            _delete_one(item, result)
        transaction.set_rollback(True)
    return result


def _packages(owner: str, name: str | None):
    packages = Package.objects.filter(namespace=owner).order_by("name")
    return packages.filter(name=f"{owner}/{name}") if name else packages


def retention_run(*, owner: str, name: str | None = None, dry_run: bool = False, now: datetime | None = None,
                  grace: timedelta = DEFAULT_GRACE, record: bool = True) -> tuple[RunResult, RetentionRun | None]:
    """Apply the policies to owner's packages (or just OWNER/name); keep the run's summary when record."""
    now = now or timezone.now()
    started = timezone.now()
    planned = retention_plan(packages=_packages(owner, name), now=now, grace=grace)
    result = retention_apply(planned=planned, dry_run=dry_run)
    run = None
    if record:
        run = RetentionRun.objects.create(owner=owner, package_name=name or "", dry_run=dry_run, started_at=started,
                                          finished_at=timezone.now(), deleted_count=len(result.deleted),
                                          freed_bytes=result.freed_bytes, deleted=result.deleted)
        if not dry_run:
            audit_record(action=Action.RETENTION_RUN, namespace=owner, package=f"{owner}/{name}" if name else "",
                         actor_name="retention policy",
                         data={"deleted": len(result.deleted), "freed_bytes": result.freed_bytes, "run": run.pk})
    return result, run


def retention_run_all(*, dry_run: bool = False, grace: timedelta = DEFAULT_GRACE) -> list[tuple[str, RunResult]]:
    """Apply every owner's policies (`manage.py retention`, and the worker every BERTH_RETENTION_INTERVAL)."""
    return [(owner, retention_run(owner=owner, dry_run=dry_run, grace=grace)[0])
            for owner in selectors.owners_with_policies()]


def quota_set(*, owner: str, limit_bytes: int | None) -> None:
    """Set owner's quota in bytes; None removes it."""
    if limit_bytes is None:
        Quota.objects.filter(owner=owner).delete()
    else:
        Quota.objects.update_or_create(owner=owner, defaults={"limit_bytes": limit_bytes})
