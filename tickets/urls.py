from django.urls import include, path

from . import views
from .followup import views as followup_views
from .incidents import views as incident_views
from .portal import agent_views as portal_agent_views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_queue, name="queue"),
    path("tickets/new/", views.ticket_new, name="new"),
    path("tickets/lookup/", views.order_lookup, name="lookup"),
    path("tickets/bulk/", views.bulk_action, name="bulk"),
    path("tickets/<int:pk>/", views.ticket_detail, name="detail"),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="reply"),
    path("tickets/<int:pk>/classify/", views.ticket_classify, name="classify"),
    path("tickets/<int:pk>/override/", views.ticket_override, name="override"),
    path("tickets/<int:pk>/transition/", views.ticket_transition_view, name="transition"),
    path("tickets/<int:pk>/summary/", views.ticket_summary, name="summary"),
    path("tickets/<int:pk>/take/", views.ticket_take, name="take"),
    path("tickets/<int:pk>/follow-up/", followup_views.follow_up_new, name="follow_up"),
    path("tickets/<int:pk>/customer-link/", portal_agent_views.customer_link, name="customer_link"),
    path("tickets/<int:pk>/assign/", views.ticket_assign, name="assign"),
    path("tickets/<int:pk>/subtasks/", views.subtask_new, name="subtask_new"),
    path("tickets/<int:pk>/solutions/", views.solution_new, name="solution_new"),
    path("tickets/<int:pk>/solutions/<int:solution_pk>/confirm/", views.solution_confirm, name="solution_confirm"),
    path("approvals/", views.approvals, name="approvals"),
    path("incidents/", incident_views.incident_list, name="incidents"),
    path("watch/", incident_views.shipping_watch, name="watch"),
    path("watch/inform/", incident_views.shipping_inform, name="watch_inform"),
    path("incidents/<int:pk>/", incident_views.incident_detail, name="incident"),
    path("incidents/<int:pk>/act/", incident_views.incident_act, name="incident_act"),
    path("approvals/<int:pk>/decide/", views.approval_decide, name="approval_decide"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("inbox/", views.inbox, name="inbox"),
    path("subtasks/<int:pk>/", views.subtask_detail, name="subtask"),
    path("subtasks/<int:pk>/act/", views.subtask_act, name="subtask_act"),
    path("subtasks/<int:pk>/goods/", views.subtask_goods, name="subtask_goods"),
    path("notifications/", views.notifications, name="notifications"),
    path("price-differences/", include("tickets.pricediff.urls")),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path("", include("tickets.knowledge.urls")),
    path("reports/", include("tickets.reports.urls")),
]
