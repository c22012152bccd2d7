"""The pages' own 404, 403 and 500 pages, and the JSON errors the registry API keeps answering."""

import pytest
from django.template import loader

from accounts.services import package_grant
from registry.models import Package
from tests.packages_ui.helpers import push_labelled

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def production(settings):
    """Error pages are Django's technical pages under DEBUG; these are the ones people see."""
    settings.DEBUG = False


def test_unknown_package_says_it_may_be_private(anonymous):
    response = anonymous.get("/alice/packages/container/nothing")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here, or nothing you may see" in page
    assert 'href="/login?next=/alice/packages/container/nothing"' in page
    assert 'href="/packages"' in page


def test_signed_in_visitor_is_told_to_ask_for_access(owner_browser):
    page = owner_browser.get("/alice/packages/container/nothing").content.decode()
    assert "ask one of its admins to give you access" in page
    assert "/login?next=" not in page


def test_non_admin_on_settings_is_told_whom_to_ask(api, make_user, browser_for):
    push_labelled(api)
    bob = make_user("bob")
    package_grant(package=Package.objects.get(name="alice/app"), role="write", user=bob)
    response = browser_for(bob).get("/alice/packages/container/app/-/settings")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You may not do this" in page
    assert "Only admins of alice/app can manage it." in page
    assert "signed in as bob" in page


def test_registry_api_404_stays_json(api):
    for path in ("/v2/alice/nothing/tags/list", "/v2/not/an/endpoint"):
        response = api.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["errors"][0]["code"] == "NAME_UNKNOWN"


def test_server_error_page_needs_no_context_nor_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        page = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in page
    assert "/static/berth.css" in page
