from django.urls import path

from events import views

app_name = "events"

urlpatterns = []
for prefix, name in (("settings/hooks", ""), ("orgs/<str:org>/hooks", "org-")):
    urlpatterns += [
        path(prefix, views.HookListView.as_view(), name=f"{name}hooks"),
        path(f"{prefix}/<int:hook_id>", views.HookView.as_view(), name=f"{name}hook"),
        path(f"{prefix}/<int:hook_id>/delete", views.HookDeleteView.as_view(), name=f"{name}hook-delete"),
        path(f"{prefix}/<int:hook_id>/deliveries/<int:delivery_id>/redeliver", views.RedeliverView.as_view(),
             name=f"{name}redeliver"),
    ]
