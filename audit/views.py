"""The audit log pages: the visitor's own, and an organization's for its owners."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import render
from django.views import View

from audit.models import Action
from audit.selectors import audit_entries, namespace_administered


class AuditLogView(LoginRequiredMixin, View):
    def get(self, request, org=None):
        namespace = org or request.user.get_username()
        if not namespace_administered(user=request.user, namespace=namespace, organization=bool(org)):
            raise Http404("no such organization, or you don't own it")
        action = request.GET.get("action") or None
        entries = audit_entries(namespace=namespace, action=action)[:200]
        return render(request, "audit/audit_log.html", {
            "namespace": namespace, "entries": entries, "actions": Action.choices, "action": action,
        })
