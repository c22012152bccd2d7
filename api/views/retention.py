"""Berth's own retention endpoints beside GitHub's: GET|PUT|DELETE a package's or an owner's policy.

A package's GET answers the policy that applies to it (its own, else its owner's) and says which.
Reading and changing a policy takes admin of the package or the owner; changing it also takes the
delete:packages scope, as deleting versions does.
"""

from rest_framework import serializers
from rest_framework.response import Response

from accounts import access
from accounts.models import PackagePermission
from api import permissions, selectors
from api.base import ApiView, documented
from api.errors import Forbidden, NotFound, RequiresAuthentication, Unprocessable
from retention import selectors as retention_selectors
from retention.services import RULE_FIELDS, PolicyInvalid, policy_delete, policy_set


class PolicySerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=["package", "owner"], allow_null=True, read_only=True)
    enabled = serializers.BooleanField(default=True)
    keep_last = serializers.IntegerField(allow_null=True, required=False, min_value=0)
    keep_tags = serializers.CharField(allow_blank=True, required=False, default="")
    delete_untagged_after_days = serializers.IntegerField(allow_null=True, required=False, min_value=0)
    delete_tagged_after_days = serializers.IntegerField(allow_null=True, required=False, min_value=0)
    keep_pulled_within_days = serializers.IntegerField(allow_null=True, required=False, min_value=0)


def policy_json(policy, source: str | None) -> dict:
    if policy is None:
        return {"source": None, "enabled": False, **{name: None for name in RULE_FIELDS}, "keep_tags": ""}
    return {"source": source, "enabled": policy.enabled, **{name: getattr(policy, name) for name in RULE_FIELDS}}


def parse_policy(request) -> dict:
    serializer = PolicySerializer(data=request.data)
    if not serializer.is_valid():
        raise Unprocessable("; ".join(f"{field}: {' '.join(map(str, errors))}"
                                      for field, errors in serializer.errors.items()))
    return serializer.validated_data


def check_owner_admin(request, login: str, *, write: bool) -> None:
    if not permissions.has_credentials(request):
        raise RequiresAuthentication()
    caller = access.caller_for(request)
    if access.namespace_role(caller.user, login) != PackagePermission.Role.ADMIN:
        raise NotFound()
    if write and "delete" not in caller.scopes:
        raise Forbidden("This token lacks the delete:packages scope needed to change retention policies")


class PackageRetentionView(ApiView):
    operation_ids = {"get": "get-package-retention-for-{who}", "put": "set-package-retention-for-{short}",
                     "delete": "delete-package-retention-for-{short}"}

    def package(self, write: bool):
        self.container_only()
        owner = self.owner()
        package = selectors.package_find(owner=owner, name=self.kwargs["package_name"])
        if write:
            return permissions.check_admin(self.request, package)
        package = permissions.check_read(self.request, package)
        if not permissions.is_admin(self.request, package):
            raise Forbidden(f"You need admin access to {package.name} to see its retention policy")
        return package

    @documented(responses=PolicySerializer)
    def get(self, request, package_name, **kwargs):
        """Get the retention policy that applies to a package (its own, else its owner's)."""
        package = self.package(write=False)
        own = retention_selectors.package_policy(package=package)
        if own is not None:
            return Response(policy_json(own, "package"))
        return Response(policy_json(retention_selectors.owner_policy(owner=package.namespace), "owner"))

    @documented(request=PolicySerializer, responses=PolicySerializer)
    def put(self, request, package_name, **kwargs):
        """Set a package's own retention policy, overriding its owner's; rules left out are cleared."""
        package = self.package(write=True)
        try:
            policy = policy_set(owner=package.namespace, package=package, **parse_policy(request))
        except PolicyInvalid as e:
            raise Unprocessable(str(e)) from None
        return Response(policy_json(policy, "package"))

    @documented(responses={204: None})
    def delete(self, request, package_name, **kwargs):
        """Remove a package's own retention policy: its owner's applies again."""
        package = self.package(write=True)
        policy_delete(owner=package.namespace, package=package)
        return Response(status=204)


class OwnerRetentionView(ApiView):
    operation_ids = {"get": "get-retention-for-{who}", "put": "set-retention-for-{short}",
                     "delete": "delete-retention-for-{short}"}

    def login(self, write: bool) -> str:
        owner = self.owner()
        check_owner_admin(self.request, owner.login, write=write)
        return owner.login

    @documented(responses=PolicySerializer)
    def get(self, request, **kwargs):
        """Get the retention policy of an owner, for all its packages without their own."""
        return Response(policy_json(retention_selectors.owner_policy(owner=self.login(write=False)), "owner"))

    @documented(request=PolicySerializer, responses=PolicySerializer)
    def put(self, request, **kwargs):
        """Set an owner's retention policy; rules left out are cleared."""
        login = self.login(write=True)
        try:
            policy = policy_set(owner=login, **parse_policy(request))
        except PolicyInvalid as e:
            raise Unprocessable(str(e)) from None
        return Response(policy_json(policy, "owner"))

    @documented(responses={204: None})
    def delete(self, request, **kwargs):
        """Remove an owner's retention policy."""
        policy_delete(owner=self.login(write=True))
        return Response(status=204)
