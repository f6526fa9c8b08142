from django.urls import path
from rest_framework.routers import DefaultRouter

from customers.api import CustomerViewSet
from orders.api import OrderViewSet

from .intake import IntakeView
from .notifications import NotificationViewSet
from .people import SubtaskViewSet
from .playbook import ApprovalViewSet, IncidentViewSet
from .views import TicketViewSet

router = DefaultRouter()
router.register("tickets", TicketViewSet, basename="ticket")
router.register("subtasks", SubtaskViewSet, basename="subtask")
router.register("customers", CustomerViewSet, basename="customer")
router.register("orders", OrderViewSet, basename="order")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("incidents", IncidentViewSet, basename="incident")

urlpatterns = [path("intake/", IntakeView.as_view(), name="intake"), *router.urls]
