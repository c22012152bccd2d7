"""Which versions a retention policy deletes: pure selection over plain facts, no database.

Only top-level versions are judged (images, indexes and artifacts that are neither a platform of an
index nor a referrer); platforms and referrers follow their version when the trash deletes it.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Rules:
    """A policy's rules; None (or "") means the rule does not apply."""

    keep_last: int | None = None
    keep_tags: str = ""
    delete_untagged_after_days: int | None = None
    delete_tagged_after_days: int | None = None
    keep_pulled_within_days: int | None = None


@dataclass(frozen=True)
class Facts:
    """What the rules look at for one top-level version."""

    id: int
    pushed_at: datetime
    tags: tuple[str, ...] = ()
    pulled_at: datetime | None = None


def keep_pattern(rules: Rules) -> re.Pattern | None:
    """Return the compiled keep pattern, matched against whole tag names, or None."""
    return re.compile(rules.keep_tags) if rules.keep_tags else None


def select(rules: Rules, versions: list[Facts], *, now: datetime, grace: timedelta) -> list[Facts]:
    """Return the versions rules delete, oldest first.

    Kept whatever else applies: versions pushed within grace (a push in progress), versions with a tag
    the keep pattern matches in full, versions pulled within keep_pulled_within_days. Of the tagged
    ones the keep_last most recently pushed are kept; a tagged version goes when it is beyond those
    (if keep_last is set) and older than delete_tagged_after_days (if set); an untagged one goes
    when older than delete_untagged_after_days.
    """
    pattern = keep_pattern(rules)
    tagged = sorted((v for v in versions if v.tags), key=lambda v: (v.pushed_at, v.id), reverse=True)
    newest = {v.id for v in tagged[:rules.keep_last]} if rules.keep_last is not None else set()

    def older_than(version: Facts, days: int) -> bool:
        return now - version.pushed_at > timedelta(days=days)

    def protected(version: Facts) -> bool:
        if now - version.pushed_at < grace:
            return True
        if pattern is not None and any(pattern.fullmatch(tag) for tag in version.tags):
            return True
        days = rules.keep_pulled_within_days
        return days is not None and version.pulled_at is not None and now - version.pulled_at <= timedelta(days=days)

    def doomed(version: Facts) -> bool:
        if version.tags:
            if rules.keep_last is None and rules.delete_tagged_after_days is None:
                return False
            if version.id in newest:
                return False
            return rules.delete_tagged_after_days is None or older_than(version, rules.delete_tagged_after_days)
        return rules.delete_untagged_after_days is not None and older_than(version, rules.delete_untagged_after_days)

    chosen = [v for v in versions if doomed(v) and not protected(v)]
    return sorted(chosen, key=lambda v: (v.pushed_at, v.id))
