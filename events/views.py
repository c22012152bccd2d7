"""Settings pages for an owner's webhooks: list and add, a webhook's delivery log, redeliver, delete."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from audit.selectors import namespace_administered
from events.forms import WebhookForm
from events.models import Delivery, Webhook
from events.services import WebhookInvalid, delivery_redeliver, webhook_create, webhook_delete
from events.targets import TargetRefused
from registry.models import Package


class OwnerHooks(LoginRequiredMixin, View):
    def owner(self) -> tuple[str, bool]:
        """Return the owner the URL names (the visitor when none) and whether it is an organization; 404 to others."""
        org = self.kwargs.get("org")
        namespace = org or self.request.user.get_username()
        if not namespace_administered(user=self.request.user, namespace=namespace, organization=bool(org)):
            raise Http404("no such organization, or you don't own it")
        return namespace, bool(org)

    def list_url(self, namespace: str, organization: bool) -> str:
        return reverse("events:org-hooks", args=[namespace]) if organization else reverse("events:hooks")


class HookListView(OwnerHooks):
    def get(self, request, **kwargs):
        namespace, organization = self.owner()
        return self.page(namespace, organization, WebhookForm(packages=self.packages(namespace)))

    def post(self, request, **kwargs):
        namespace, organization = self.owner()
        form = WebhookForm(request.POST, packages=self.packages(namespace))
        if form.is_valid():
            data = form.cleaned_data
            package = Package.objects.filter(name=data["package"]).first() if data["package"] else None
            try:
                webhook_create(namespace=namespace, package=package, url=data["url"], secret=data["secret"],
                               events=data["events"], format=data["format"])
            except (WebhookInvalid, TargetRefused) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Added a webhook to {data['url']}.")
                return redirect(self.list_url(namespace, organization))
        return self.page(namespace, organization, form, status=400)

    def packages(self, namespace: str):
        return Package.objects.filter(namespace=namespace).order_by("name")

    def page(self, namespace, organization, form, status=200):
        hooks = Webhook.objects.filter(namespace=namespace).select_related("package")
        return render(self.request, "events/hook_list.html", {
            "namespace": namespace, "organization": organization, "hooks": hooks, "form": form,
        }, status=status)


class HookView(OwnerHooks):
    def get(self, request, hook_id, **kwargs):
        namespace, organization = self.owner()
        hook = get_object_or_404(Webhook, pk=hook_id, namespace=namespace)
        deliveries = (hook.deliveries.select_related("event").prefetch_related("attempts_made")
                      .order_by("-created_at", "-id")[:50])
        return render(request, "events/hook_detail.html", {
            "namespace": namespace, "organization": organization, "hook": hook, "deliveries": deliveries,
            "list_url": self.list_url(namespace, organization),
        })


class HookDeleteView(OwnerHooks):
    def post(self, request, hook_id, **kwargs):
        namespace, organization = self.owner()
        hook = get_object_or_404(Webhook, pk=hook_id, namespace=namespace)
        webhook_delete(webhook=hook)
        messages.success(request, f"Deleted the webhook to {hook.url}.")
        return redirect(self.list_url(namespace, organization))


class RedeliverView(OwnerHooks):
    def post(self, request, hook_id, delivery_id, **kwargs):
        namespace, organization = self.owner()
        delivery = get_object_or_404(Delivery, pk=delivery_id, webhook__pk=hook_id, webhook__namespace=namespace)
        delivery_redeliver(delivery=delivery)
        messages.success(request, "The event will be delivered again in a moment.")
        return redirect(request.path.rsplit("/deliveries/", 1)[0])
