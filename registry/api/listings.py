"""Listings: tags, referrers and the catalog."""

import json

from django.http import HttpResponse, JsonResponse

from accounts import access
from registry import selectors
from registry.api.base import RegistryView, next_link, paginate
from registry.oci import media_types as mt
from registry.oci.digests import parse_digest
from registry.oci.errors import NameUnknown
from registry.oci.manifests import Descriptor


class TagListView(RegistryView):
    def get(self, request, name):
        package = self.package(name)
        n, last = paginate(request)
        # One more than asked tells whether a next page exists.
        names = selectors.tag_names(package=package, n=None if n is None else n + 1, last=last)
        page = names[:n]
        response = JsonResponse({"name": name, "tags": page})
        if page:
            for header, value in next_link(request.path, n, page[-1], len(names) > len(page)).items():
                response[header] = value
        return response


class ReferrersView(RegistryView):
    def check_permissions(self, request):
        try:
            super().check_permissions(request)
        except NameUnknown:
            # The spec: a registry that lists referrers MUST NOT answer 404. A name the caller
            # may not read holds nothing for them, exactly like a missing one.
            request.checked_package = None

    def get(self, request, name, digest):
        parse_digest(digest)
        package = self.checked_package(name)
        artifact_type = request.GET.get("artifactType")
        referrers = [] if package is None else selectors.referrers(
            package=package, digest=digest, artifact_type=artifact_type)
        index = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [referrer_descriptor(d) for d in referrers],
        }
        response = HttpResponse(json.dumps(index), content_type=mt.OCI_INDEX)
        if artifact_type:
            response["OCI-Filters-Applied"] = "artifactType"
        return response


def referrer_descriptor(descriptor: Descriptor) -> dict:
    listed = {"mediaType": descriptor.media_type, "digest": descriptor.digest, "size": descriptor.size}
    if descriptor.artifact_type:
        listed["artifactType"] = descriptor.artifact_type
    if descriptor.annotations:
        listed["annotations"] = descriptor.annotations
    return listed


class CatalogView(RegistryView):
    def get(self, request):
        n, last = paginate(request)
        names = selectors.catalog_names(packages=access.readable_packages(request),
                                        n=None if n is None else n + 1, last=last)
        page = names[:n]
        response = JsonResponse({"repositories": page})
        if page:
            for header, value in next_link(request.path, n, page[-1], len(names) > len(page)).items():
                response[header] = value
        return response


class BaseView(RegistryView):
    def get(self, request):
        return JsonResponse({})
