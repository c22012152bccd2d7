"""The JSON of packages and versions, as GitHub's REST API documents it, plus Berth's extra fields.

GitHub's clients ignore fields they don't know, so download_count, size_in_bytes, platforms and
referrers ride along. Instances are api.selectors.PackageRow and packages_ui.presentation.Version;
the view passes the request and the owner in the context, for absolute URLs.
"""

from urllib.parse import quote, urlsplit

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sources.identity import repository_path

# GitHub writes times as 2019-10-20T14:11:07Z (UTC, whole seconds).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def api_url(request, owner, name: str, *suffix: str) -> str:
    """Return the absolute /api/v3 URL of owner's package name (nested names %2F-encoded, as GitHub's are)."""
    owner_kwarg = "org" if owner.route == "orgs" else "username"
    path = reverse(f"api:{owner.route}-package",
                   kwargs={owner_kwarg: owner.login, "package_type": "container", "package_name": "NAME"})
    path = path.replace("NAME", quote(name, safe=""))
    return request.build_absolute_uri("/".join([path, *suffix]))


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    documentation_url = serializers.URLField()


class OwnerSerializer(serializers.Serializer):
    login = serializers.CharField()
    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=["User", "Organization"])
    url = serializers.SerializerMethodField()
    html_url = serializers.SerializerMethodField()

    def get_url(self, owner) -> str:
        return self.context["request"].build_absolute_uri(f"{reverse('api:root')}users/{owner.login}")

    def get_html_url(self, owner) -> str:
        return self.context["request"].build_absolute_uri(reverse("packages_ui:owner", kwargs={"owner": owner.login}))


REPOSITORY_PROPERTIES = {
    "id": {"type": "integer"}, "name": {"type": "string"}, "full_name": {"type": "string"},
    "html_url": {"type": "string", "format": "uri"},
    "owner": {"type": "object", "properties": {"login": {"type": "string"}, "html_url": {"type": "string"}}},
}
PROVENANCE_PROPERTIES = {
    key: {"type": "string"} for key in ("repository", "repository_url", "issuer", "ref", "sha", "workflow",
                                        "run_id", "commit_url", "summary")
}


def minimal_repository(repository) -> dict | None:
    """Return GitHub's minimal repository object for a connected source repository (None when not connected).

    GitHub's owner is the first part of the path; a GitLab group path (group/sub/app) keeps its
    groups in the owner's login so full_name is always owner/name.
    """
    if repository is None:
        return None
    full_name = repository_path(repository.url)
    owner, _, name = full_name.rpartition("/")
    parts = urlsplit(repository.url)
    base = f"{parts.scheme}://{parts.netloc}"
    return {"id": repository.pk, "name": name, "full_name": full_name, "html_url": repository.url,
            "owner": {"login": owner, "html_url": f"{base}/{owner}" if owner else base}}


class PackageSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="package.pk")
    name = serializers.CharField(source="package.image_name", help_text="IMAGE_NAME of OWNER/IMAGE_NAME")
    package_type = serializers.SerializerMethodField()
    owner = OwnerSerializer()
    version_count = serializers.SerializerMethodField()
    visibility = serializers.CharField(source="package.visibility")
    url = serializers.SerializerMethodField()
    html_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="package.created_at", format=TIME_FORMAT)
    updated_at = serializers.DateTimeField(format=TIME_FORMAT)
    repository = serializers.SerializerMethodField()
    download_count = serializers.IntegerField(
        source="package.downloads", help_text="Berth: manifest pulls, platforms of a pulled index not counted twice")
    size_in_bytes = serializers.IntegerField(help_text="Berth: the live versions' manifests and unique blobs")

    def get_package_type(self, row) -> str:
        return "container"

    def get_version_count(self, row) -> int:
        return len(row.versions)

    def get_url(self, row) -> str:
        return api_url(self.context["request"], row.owner, row.package.image_name)

    def get_html_url(self, row) -> str:
        return self.context["request"].build_absolute_uri(row.package.get_absolute_url())

    @extend_schema_field({"type": "object", "nullable": True, "description": "The connected source repository",
                          "properties": REPOSITORY_PROPERTIES})
    def get_repository(self, row) -> dict | None:
        return minimal_repository(row.package.source_repository)


class ReferrerSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="manifest.pk")
    name = serializers.CharField(source="digest")
    artifact_type = serializers.CharField(source="manifest.artifact_type")
    created_at = serializers.DateTimeField(source="manifest.pushed_at", format=TIME_FORMAT)


class PlatformSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="manifest.pk")
    name = serializers.CharField(source="digest")
    platform = serializers.SerializerMethodField()

    def get_platform(self, version) -> str:
        return ", ".join(version.platforms)


class VersionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="manifest.pk")
    name = serializers.CharField(source="digest", help_text="The manifest's digest")
    url = serializers.SerializerMethodField()
    package_html_url = serializers.SerializerMethodField()
    html_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="manifest.pushed_at", format=TIME_FORMAT)
    updated_at = serializers.DateTimeField(source="manifest.pushed_at", format=TIME_FORMAT)
    deleted_at = serializers.DateTimeField(source="manifest.deleted_at", format=TIME_FORMAT, required=False)
    deleted_by = serializers.CharField(source="manifest.deleted_by", required=False,
                                       help_text='Berth: what deleted it when not a person ("retention policy")')
    metadata = serializers.SerializerMethodField()
    download_count = serializers.IntegerField(source="manifest.downloads")
    size_in_bytes = serializers.SerializerMethodField(
        help_text="Berth: manifest, config and layers, platform manifests included")
    platforms = serializers.SerializerMethodField(help_text="Berth: os/architecture[/variant] of the image")
    platform_manifests = PlatformSerializer(source="children", many=True,
                                   help_text="Berth: a multi-arch image's platform manifests")
    referrers = ReferrerSerializer(many=True, help_text="Berth: signatures, SBOMs and attestations of this version")
    provenance = serializers.SerializerMethodField(
        help_text="Berth: the CI job that published the version (null when a person pushed it)")

    def to_representation(self, version):
        data = super().to_representation(version)
        if version.manifest.deleted_at is None:
            data.pop("deleted_at")
        if not version.manifest.deleted_by:
            data.pop("deleted_by")
        return data

    def get_url(self, version) -> str:
        package, owner = self.context["package"], self.context["owner"]
        return api_url(self.context["request"], owner, package.image_name, "versions", str(version.manifest.pk))

    def get_package_html_url(self, version) -> str:
        return self.context["request"].build_absolute_uri(self.context["package"].get_absolute_url())

    def get_html_url(self, version) -> str:
        package = self.context["package"]
        path = reverse("packages_ui:version", kwargs={"owner": package.namespace, "name": package.image_name,
                                                      "digest": version.digest})
        return self.context["request"].build_absolute_uri(path)

    @extend_schema_field({"type": "object", "properties": {
        "package_type": {"type": "string"},
        "container": {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}}})
    def get_metadata(self, version) -> dict:
        return {"package_type": "container", "container": {"tags": list(version.tags)}}

    def get_size_in_bytes(self, version) -> int:
        return self.context["sizes"].get(version.manifest.pk, 0)

    def get_platforms(self, version) -> list[str]:
        # An index's own row lists its platforms; an image's lists the one its config names.
        return version.platforms

    @extend_schema_field({"type": "object", "nullable": True, "properties": PROVENANCE_PROPERTIES})
    def get_provenance(self, version) -> dict | None:
        published = version.published
        return published.as_dict() if published is not None else None
