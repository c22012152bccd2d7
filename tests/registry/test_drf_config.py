"""DRF is configured on the registry's base view, not globally, so another API keeps DRF's defaults."""

from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.authentication import PersonalAccessTokenAuthentication, RegistryTokenAuthentication
from registry.api.base import RegistryView
from registry.api.errors import exception_handler as oci_exception_handler


def test_drf_defaults_are_drfs_own():
    assert api_settings.EXCEPTION_HANDLER is drf_exception_handler
    assert RegistryTokenAuthentication not in api_settings.DEFAULT_AUTHENTICATION_CLASSES
    assert PersonalAccessTokenAuthentication not in api_settings.DEFAULT_AUTHENTICATION_CLASSES
    assert APIView().get_exception_handler() is drf_exception_handler


def test_registry_views_carry_their_authentication_and_errors():
    view = RegistryView()
    assert view.get_exception_handler() is oci_exception_handler
    assert [type(a) for a in view.get_authenticators()] == [RegistryTokenAuthentication,
                                                            PersonalAccessTokenAuthentication]


def test_errors_still_answer_in_the_specs_format(api):
    response = api.get("/v2/alice/missing/manifests/latest")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] in ("NAME_UNKNOWN", "MANIFEST_UNKNOWN")
    anonymous = api.get("/v2/", HTTP_AUTHORIZATION="")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer ")
