from django.urls import include, path

from .followup import views as followup_views
from .incidents import views as incident_views
from .playbook import views as playbook_views
from .portal import agent_views as portal_agent_views
from .views import inbox, live, outbox, queue, ticket

app_name = "tickets"

urlpatterns = [
    path("", queue.ticket_queue, name="queue"),
    path("live/", live.live, name="live"),
    path("tickets/new/", queue.ticket_new, name="new"),
    path("tickets/lookup/", queue.order_lookup, name="lookup"),
    path("tickets/bulk/", queue.bulk_action, name="bulk"),
    path("tickets/export.csv", queue.queue_export, {"kind": "csv"}, name="export_csv"),
    path("tickets/export.xlsx", queue.queue_export, {"kind": "xlsx"}, name="export_xlsx"),
    path("tickets/<int:pk>/", ticket.ticket_detail, name="detail"),
    path("tickets/<int:pk>/reply/", ticket.ticket_reply, name="reply"),
    path("tickets/<int:pk>/forms/<slug:form>/", ticket.ticket_form, name="ticket_form"),
    path("tickets/<int:pk>/classify/", ticket.ticket_classify, name="classify"),
    path("tickets/<int:pk>/override/", ticket.ticket_override, name="override"),
    path("tickets/<int:pk>/transition/", ticket.ticket_transition_view, name="transition"),
    path("tickets/<int:pk>/summary/", ticket.ticket_summary, name="summary"),
    path("tickets/<int:pk>/take/", ticket.ticket_take, name="take"),
    path("tickets/<int:pk>/hand-to-senior/", ticket.ticket_hand_to_senior, name="hand_to_senior"),
    path("tickets/<int:pk>/keep/", ticket.ticket_keep_high_risk, name="keep_high_risk"),
    path("tickets/<int:pk>/confirm-exposure/", ticket.ticket_confirm_exposure, name="confirm_exposure"),
    path("tickets/<int:pk>/follow-up/", followup_views.follow_up_new, name="follow_up"),
    path("tickets/<int:pk>/customer-link/", portal_agent_views.customer_link, name="customer_link"),
    path("tickets/<int:pk>/customer-link/sms/", portal_agent_views.customer_link_sms, name="customer_link_sms"),
    path("tickets/<int:pk>/assign/", ticket.ticket_assign, name="assign"),
    path("tickets/<int:pk>/macro/", ticket.ticket_apply_macro, name="apply_macro"),
    path("tickets/<int:pk>/subtasks/", ticket.subtask_new, name="subtask_new"),
    path("tickets/<int:pk>/solutions/", playbook_views.solution_new, name="solution_new"),
    path("tickets/<int:pk>/solutions/<int:solution_pk>/confirm/", playbook_views.solution_confirm,
         name="solution_confirm"),
    path("approvals/", playbook_views.approvals, name="approvals"),
    path("incidents/", incident_views.incident_list, name="incidents"),
    path("watch/", incident_views.shipping_watch, name="watch"),
    path("watch/inform/", incident_views.shipping_inform, name="watch_inform"),
    path("incidents/<int:pk>/", incident_views.incident_detail, name="incident"),
    path("incidents/<int:pk>/act/", incident_views.incident_act, name="incident_act"),
    path("approvals/<int:pk>/decide/", playbook_views.approval_decide, name="approval_decide"),
    path("attachments/<int:pk>/", ticket.attachment_download, name="attachment"),
    path("dashboard/", queue.dashboard, name="dashboard"),
    path("undelivered/", outbox.undelivered, name="undelivered"),
    path("undelivered/<int:pk>/resend/", outbox.undelivered_resend, name="undelivered_resend"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("subtasks/<int:pk>/", inbox.subtask_detail, name="subtask"),
    path("subtasks/<int:pk>/act/", inbox.subtask_act, name="subtask_act"),
    path("subtasks/<int:pk>/goods/", inbox.subtask_goods, name="subtask_goods"),
    path("notifications/", inbox.notifications, name="notifications"),
    path("price-differences/", include("tickets.pricediff.urls")),
    path("notifications/<int:pk>/open/", inbox.notification_open, name="notification_open"),
    path("", include("tickets.knowledge.urls")),
    path("reports/", include("tickets.reports.urls")),
    path("", include("tickets.expert.urls")),
]
