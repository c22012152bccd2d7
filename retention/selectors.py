"""Reads for retention: the policy that applies to a package, the facts the rules judge, past runs."""

from django.db.models import Max

from registry.models import Manifest, ManifestReference, Package, PullCount, Tag
from retention.models import RetentionPolicy, RetentionRun
from retention.rules import Facts, Rules


def owner_policy(*, owner: str) -> RetentionPolicy | None:
    return RetentionPolicy.objects.filter(owner=owner, package__isnull=True).first()


def package_policy(*, package: Package) -> RetentionPolicy | None:
    return RetentionPolicy.objects.filter(package=package).first()


def effective_policy(*, package: Package) -> RetentionPolicy | None:
    """Return the policy that applies to package: its own (even when off), else its owner's; None if off."""
    policy = package_policy(package=package) or owner_policy(owner=package.namespace)
    return policy if policy is not None and policy.enabled else None


def rules_of(policy: RetentionPolicy) -> Rules:
    return Rules(keep_last=policy.keep_last, keep_tags=policy.keep_tags,
                 delete_untagged_after_days=policy.delete_untagged_after_days,
                 delete_tagged_after_days=policy.delete_tagged_after_days,
                 keep_pulled_within_days=policy.keep_pulled_within_days)


def top_level_facts(*, package: Package) -> list[Facts]:
    """Return the facts of package's live top-level versions: not a platform of a live index, not a referrer."""
    live = Manifest.objects.filter(package=package, deleted_at__isnull=True)
    platforms = ManifestReference.objects.filter(manifest__in=live, kind=ManifestReference.Kind.MANIFEST
                                                 ).values("digest")
    manifests = list(live.filter(subject_digest="").exclude(digest__in=platforms)
                     .values_list("pk", "pushed_at", "pulled_at"))
    tags: dict[int, list[str]] = {}
    for manifest_id, name in Tag.objects.filter(package=package).order_by("name").values_list("manifest_id", "name"):
        tags.setdefault(manifest_id, []).append(name)
    # Pulls not yet folded into Manifest.pulled_at count too, so a dry run needn't fold (write) them.
    unfolded = dict(PullCount.objects.filter(package=package, manifest__isnull=False).values("manifest_id")
                    .annotate(last=Max("pulled_at")).values_list("manifest_id", "last"))
    facts = []
    for pk, pushed_at, pulled_at in manifests:
        candidates = [t for t in (pulled_at, unfolded.get(pk)) if t is not None]
        facts.append(Facts(id=pk, pushed_at=pushed_at, tags=tuple(tags.get(pk, ())),
                           pulled_at=max(candidates) if candidates else None))
    return facts


def owners_with_policies() -> list[str]:
    return sorted(set(RetentionPolicy.objects.values_list("owner", flat=True)))


def recent_runs(*, owner: str, limit: int = 10) -> list[RetentionRun]:
    return list(RetentionRun.objects.filter(owner=owner)[:limit])
