"""Bulk price-difference refunds (退差): upload, preview, run, progress, report."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.batch_list, name="pricediff_list"),
    path("upload/", views.batch_upload, name="pricediff_upload"),
    path("<int:pk>/", views.batch_detail, name="pricediff_detail"),
    path("<int:pk>/run/", views.batch_execute, name="pricediff_execute"),
    path("<int:pk>/decide/", views.batch_decide, name="pricediff_decide"),
    path("<int:pk>/progress/", views.batch_progress, name="pricediff_progress"),
    path("<int:pk>/errors.csv", views.batch_problems_csv, name="pricediff_errors_csv"),
    path("<int:pk>/report.csv", views.batch_report_csv, name="pricediff_report_csv"),
]
