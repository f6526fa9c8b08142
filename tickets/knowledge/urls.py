"""Included at the site root inside the `tickets` namespace: tickets:kb, tickets:faq, ..."""

from django.urls import path

from . import views

urlpatterns = [
    path("kb/", views.article_list, name="kb"),
    path("kb/new/", views.article_new, name="kb_new"),
    path("kb/<int:pk>/", views.article_detail, name="kb_detail"),
    path("kb/<int:pk>/edit/", views.article_edit, name="kb_edit"),
    path("kb/<int:pk>/publish/", views.article_publish, name="kb_publish"),
    path("kb/from-ticket/<int:pk>/", views.article_from_ticket, name="kb_from_ticket"),
    # The public FAQ: no login.
    path("faq/", views.faq, name="faq"),
    path("faq/<int:pk>/", views.faq_article, name="faq_article"),
]
