"""Routes of the distribution API under /v2/.

Names contain slashes, so each route captures the longest name that leaves a valid
suffix; views validate the name against the spec's grammar.
"""

from django.urls import re_path

from registry.api.base import RegistryView
from registry.api.blobs import BlobView
from registry.api.listings import BaseView, CatalogView, ReferrersView, TagListView
from registry.api.manifests import ManifestView
from registry.api.uploads import UploadStartView, UploadView
from registry.oci.errors import NameUnknown

# [\s\S], not ".": a name or path with a newline (%0a) must reach a view, which answers the
# spec's JSON error, rather than fall through to Django's HTML 404.
NAME = r"(?P<name>[\s\S]+)"


class NotFoundView(RegistryView):
    """Any other path under /v2/ answers in the spec's error format."""

    permission_classes = ()

    def get(self, request):
        raise NameUnknown(f"{request.path} is not a distribution API endpoint")

    head = post = put = patch = delete = get


urlpatterns = [
    re_path(r"^v2/?$", BaseView.as_view(), name="v2-base"),
    re_path(r"^v2/_catalog$", CatalogView.as_view(), name="v2-catalog"),
    re_path(rf"^v2/{NAME}/tags/list$", TagListView.as_view(), name="v2-tags"),
    re_path(rf"^v2/{NAME}/manifests/(?P<reference>[^/]+)$", ManifestView.as_view(), name="v2-manifest"),
    re_path(rf"^v2/{NAME}/blobs/uploads/?$", UploadStartView.as_view(), name="v2-upload-start"),
    re_path(rf"^v2/{NAME}/blobs/uploads/(?P<upload_id>[^/]+)$", UploadView.as_view(), name="v2-upload"),
    re_path(rf"^v2/{NAME}/blobs/(?P<digest>[^/]+)$", BlobView.as_view(), name="v2-blob"),
    re_path(rf"^v2/{NAME}/referrers/(?P<digest>[^/]+)$", ReferrersView.as_view(), name="v2-referrers"),
    re_path(r"^v2/[\s\S]*$", NotFoundView.as_view(), name="v2-not-found"),
]
