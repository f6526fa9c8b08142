from django.urls import path

from . import views

# Included at reports/ inside the `tickets` namespace: tickets:reports, tickets:report_csv...
urlpatterns = [
    path("", views.reports_page, name="reports"),
    path("all.xlsx", views.reports_xlsx, name="reports_xlsx"),  # before <slug:name>.xlsx
    path("<slug:name>.csv", views.report_csv, name="report_csv"),
    path("<slug:name>.xlsx", views.report_xlsx, name="report_xlsx"),
]
