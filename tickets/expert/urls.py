"""Saved views of the queue and macros."""

from django.urls import path

from . import views

urlpatterns = [
    path("views/", views.saved_view_create, name="saved_view_create"),
    path("views/<int:pk>/rename/", views.saved_view_rename, name="saved_view_rename"),
    path("views/<int:pk>/delete/", views.saved_view_delete, name="saved_view_delete"),
    path("macros/", views.macro_list, name="macros"),
    path("macros/<int:pk>/", views.macro_edit, name="macro_edit"),
    path("macros/<int:pk>/delete/", views.macro_delete, name="macro_delete"),
]
