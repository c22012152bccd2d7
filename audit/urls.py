from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("settings/audit-log", views.AuditLogView.as_view(), name="audit-log"),
    path("orgs/<str:org>/audit-log", views.AuditLogView.as_view(), name="org-audit-log"),
]
