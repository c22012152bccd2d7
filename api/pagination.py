"""GitHub's pagination: ?per_page= (default 30, at most 100) and ?page=, with a Link header."""

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from api.errors import Unprocessable

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    per_page: int
    count: int

    @property
    def last(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))


def _positive(request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise Unprocessable(f"{name}={value!r} is not a number") from None
    if number < 1:
        raise Unprocessable(f"{name} must be at least 1")
    return number


def paginate(request, items) -> Page:
    """Return the page of items (a list or a queryset) that page and per_page ask for."""
    per_page = min(_positive(request, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    number = _positive(request, "page", 1)
    count = items.count() if hasattr(items, "count") and not isinstance(items, list) else len(items)
    start = (number - 1) * per_page
    return Page(list(items[start:start + per_page]), number, per_page, count)


def link_header(request, page: Page) -> str | None:
    """Return GitHub's Link value: first and prev after page 1, next and last before the last page."""
    def url(number: int) -> str:
        query = {k: v for k, v in request.query_params.items() if k not in ("page", "per_page")}
        query.update({"per_page": page.per_page, "page": number})
        return f'<{request.build_absolute_uri(request.path)}?{urlencode(query)}>'

    links = []
    if page.number < page.last:
        links += [f'{url(page.number + 1)}; rel="next"', f'{url(page.last)}; rel="last"']
    if page.number > 1:
        links += [f'{url(1)}; rel="first"', f'{url(min(page.number - 1, page.last))}; rel="prev"']
    return ", ".join(links) or None
