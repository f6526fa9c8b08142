from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("<str:token>/", views.case, name="case"),
    path("<str:token>/confirm/", views.confirm_solution, name="confirm"),
    path("<str:token>/evidence/", views.add_evidence, name="evidence"),
    path("<str:token>/survey/", views.answer_survey, name="survey"),
]
