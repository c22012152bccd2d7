"""People, REST API clients and signed-in browsers, for the retention tests."""

from tests.api.fixtures import alice, anonymous, client_for, make_user, owner_client  # noqa: F401
from tests.packages_ui.fixtures import browser_for, owner_browser  # noqa: F401
