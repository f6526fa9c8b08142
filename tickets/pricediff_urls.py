"""Bulk price-difference refunds (退差): upload, preview, run, progress, report. Views in tickets/pricediff_views.py."""

from django.urls import path

from . import pricediff_views as views

urlpatterns = [
    path("", views.batch_list, name="pricediff_list"),
]
