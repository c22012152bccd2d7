"""Listings: tags, referrers and the catalog."""

import json

from django.http import HttpResponse, JsonResponse

from accounts import access
from registry import selectors
from registry.api.base import RegistryView, next_link, paginate
from registry.oci import media_types as mt


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
    def get(self, request, name, digest):
        package = self.package(name)
        artifact_type = request.GET.get("artifactType")
        manifests = selectors.referrers(package=package, digest=digest, artifact_type=artifact_type)
        index = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [referrer_descriptor(m) for m in manifests],
        }
        response = HttpResponse(json.dumps(index), content_type=mt.OCI_INDEX)
        if artifact_type:
            response["OCI-Filters-Applied"] = "artifactType"
        return response


def referrer_descriptor(manifest) -> dict:
    descriptor = {"mediaType": manifest.media_type, "digest": manifest.digest, "size": manifest.size}
    if manifest.artifact_type:
        descriptor["artifactType"] = manifest.artifact_type
    if manifest.annotations:
        descriptor["annotations"] = manifest.annotations
    return descriptor


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
