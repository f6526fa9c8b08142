"""Who may see and do what in the desk: the one place views, the API and admin ask.

Roles are Django groups (tickets/roles.py). In short:
- supervisors (and superusers) see and do everything in the desk;
- agents and senior agents see every ticket and work the ones that are theirs or unassigned
  (someone else's ticket is reassigned by a supervisor, not edited behind the assignee's back);
- department staff see only tickets with a subtask for their department, with the customer's
  name, phone, e-mail, platform account and address masked (`customer_contact_for`), and work
  only their department's subtasks; they never change a ticket's status;
- admins configure the desk (Django admin) and may read tickets, not work them.
The `*_get_for_user` functions fetch and check in one step and answer "not found" for objects
the user may not see, so their existence is not revealed.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from aftersales.web import role_required
from customers.masking import contact_masked, mask_address
from customers.models import Customer, Platform
from customers.services import SHOP_ACCOUNT
from orders.models import Order

from .models import ApprovalRequest, Incident, Subtask, Ticket
from .roles import Role
from .selectors import ticket_detail, ticket_for_page

AGENT_ROLES = frozenset({Role.AGENT, Role.SENIOR_AGENT})


def desk_roles(user) -> frozenset[str]:
    """The user's roles, read once per request object (cached on the user instance)."""
    if not (user and user.is_authenticated and user.is_active):
        return frozenset()
    cached = getattr(user, "_desk_roles", None)
    if cached is None:
        user._desk_groups = sorted(user.groups.values_list("name", flat=True))
        cached = frozenset(user._desk_groups)
        if user.is_superuser:
            cached |= {Role.SUPERVISOR, Role.ADMIN}
        user._desk_roles = cached
    return cached


def desk_groups(user) -> list[str]:
    """The names of the user's groups, as the header shows them (read with desk_roles: no query of its own)."""
    desk_roles(user)
    return getattr(user, "_desk_groups", [])


def is_supervisor(user) -> bool:
    return Role.SUPERVISOR in desk_roles(user)


def is_agent(user) -> bool:
    return bool(AGENT_ROLES & desk_roles(user))


def is_department_staff(user) -> bool:
    return Role.DEPARTMENT_STAFF in desk_roles(user)


def is_finance_staff(user) -> bool:
    """Finance pays refunds; it also approves bulk refund batches and reads their reports."""
    if not is_department_staff(user):
        return False
    profile = getattr(user, "staff_profile", None)
    return bool(profile and profile.department_id and profile.department.code == "finance")


def is_desk_user(user) -> bool:
    return bool(desk_roles(user))


def department_id_of(user) -> int | None:
    profile = getattr(user, "staff_profile", None) if user and user.is_authenticated else None
    return profile.department_id if profile else None


def sees_full_tickets(user) -> bool:
    roles = desk_roles(user)
    return bool(roles & (AGENT_ROLES | {Role.SUPERVISOR, Role.ADMIN}))


def sees_unmasked_pii(user) -> bool:
    """Agents, supervisors and admins read a customer's name, phone, e-mail, platform account and
    addresses in full. Department staff (and anyone without a desk role) get them masked: they see
    what their subtask needs and nothing more (DESIGN "Who uses it")."""
    return sees_full_tickets(user)


def customer_contact_for(user, customer: Customer) -> dict[str, str]:
    """The customer's name, phone, email, account (platform account), address and the agents' notes
    as this viewer may see them: the one place a customer is masked, for pages, the API and exports."""
    return contact_seen_by(user, platform=customer.platform, name=customer.name, phone=customer.phone,
                           email=customer.email, account=customer.platform_account, address=customer.address,
                           notes=customer.notes)


def contact_seen_by(user, *, platform: str, **contact: str) -> dict[str, str]:
    """customer_contact_for of a customer read as values: the contact fields given (name, phone, email,
    account, address, notes), in full or masked (the others masked empty) for this viewer."""
    # The shop files its own work under itself (a price-difference batch's payment ticket, which finance
    # works): not a person, so nothing to hide. The unique (platform, account) constraint makes this row
    # the shop's own, never a buyer's.
    if sees_unmasked_pii(user) or (platform == Platform.OTHER and contact.get("account") == SHOP_ACCOUNT):
        return contact
    return contact_masked(**contact)


def ticket_contact_for(user, ticket: Ticket) -> dict[str, str]:
    """The ticket's customer as `customer_contact_for` gives it, plus the order's shipping address."""
    shipping = ticket.order.shipping_address if ticket.order_id else ""
    if not sees_unmasked_pii(user):
        shipping = mask_address(shipping)
    return {**customer_contact_for(user, ticket.customer), "shipping_address": shipping}


# Tickets ---------------------------------------------------------------------------------------


def tickets_visible_to(user, queryset: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    queryset = Ticket.objects.all() if queryset is None else queryset
    if sees_full_tickets(user):
        return queryset
    department_id = department_id_of(user)
    if is_department_staff(user) and department_id:
        return queryset.filter(Exists(Subtask.objects.filter(ticket=OuterRef("pk"), department_id=department_id)))
    return queryset.none()


def can_export_tickets(user) -> bool:
    """Export a queue as CSV or XLSX: whoever has the ticket queue (agents, senior agents, supervisors and
    the read-only admin; what they export is what `tickets_visible_to` gives them). Department staff have
    no queue, only their inbox, and export nothing."""
    return sees_full_tickets(user)


def can_edit_ticket(user, ticket: Ticket) -> bool:
    """Classify, message, transition, hand over subtasks."""
    if is_supervisor(user):
        return True
    return is_agent(user) and ticket.assignee_id in (None, user.pk)


def can_assign(user) -> bool:
    return is_supervisor(user)


def can_take(user) -> bool:
    """Take from the queue (the service refuses a ticket someone already works)."""
    return is_agent(user) or is_supervisor(user)


def can_create_tickets(user) -> bool:
    """Take a request in (the browser's new-ticket page, POST /api/v1/tickets/): agents, senior agents
    and supervisors. Department staff, the read-only admin and users without a role are refused
    before anything is written (the signed platform webhook is the only other way in)."""
    return is_agent(user) or is_supervisor(user)


def ensure_ticket_creator(user) -> None:
    if not can_create_tickets(user):
        raise PermissionDenied


def ticket_visible_or_404(*, user, ticket_id) -> None:
    """404 unless the user may see the ticket: the access check alone, without ticket_get_for_user's
    prefetch of the whole page (for reads of one related list)."""
    try:
        visible = tickets_visible_to(user).filter(pk=ticket_id).exists()
    except (ValueError, TypeError):
        visible = False
    if not visible:
        raise Http404


def ticket_get_for_user(*, user, ticket_id, for_write: bool = False) -> Ticket:
    try:
        ticket = ticket_detail(tickets_visible_to(user)).get(pk=ticket_id)
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if for_write and not can_edit_ticket(user, ticket):
        raise PermissionDenied
    return ticket


def ticket_get_for_page(*, user, ticket_id) -> Ticket:
    """ticket_get_for_user for the ticket page to show: its lists read only where they have rows (ticket_for_page)."""
    try:
        return ticket_for_page(tickets_visible_to(user), ticket_id)
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# Subtasks --------------------------------------------------------------------------------------


def subtasks_visible_to(user, queryset: QuerySet[Subtask] | None = None) -> QuerySet[Subtask]:
    queryset = Subtask.objects.all() if queryset is None else queryset
    if sees_full_tickets(user):
        return queryset
    department_id = department_id_of(user)
    if is_department_staff(user) and department_id:
        return queryset.filter(department_id=department_id)
    return queryset.none()


def can_work_subtask(user, subtask: Subtask) -> bool:
    """Start, complete or reject: the subtask's own department, or a supervisor."""
    if is_supervisor(user):
        return True
    return is_department_staff(user) and department_id_of(user) == subtask.department_id


def can_cancel_subtask(user, subtask: Subtask) -> bool:
    """Cancelling is the agent's call on their own ticket (they no longer need the work)."""
    return can_edit_ticket(user, subtask.ticket)


def subtask_get_for_user(*, user, subtask_id, for_work: bool = False) -> Subtask:
    try:
        subtask = subtasks_visible_to(user).select_related("ticket", "department", "assignee").get(pk=subtask_id)
    except (Subtask.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if for_work and not can_work_subtask(user, subtask):
        raise PermissionDenied
    return subtask


# Customers and orders --------------------------------------------------------------------------


def customers_visible_to(user, queryset: QuerySet[Customer] | None = None) -> QuerySet[Customer]:
    queryset = Customer.objects.all() if queryset is None else queryset
    if sees_full_tickets(user):
        return queryset
    return queryset.filter(Exists(tickets_visible_to(user).filter(customer=OuterRef("pk"))))


def orders_visible_to(user, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    queryset = Order.objects.all() if queryset is None else queryset
    if sees_full_tickets(user):
        return queryset
    return queryset.filter(Exists(tickets_visible_to(user).filter(order=OuterRef("pk"))))


def can_edit_customer(user) -> bool:
    return is_agent(user) or is_supervisor(user)


def customer_get_for_user(*, user, customer_id, for_write: bool = False) -> Customer:
    try:
        customer = customers_visible_to(user).get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if for_write and not can_edit_customer(user):
        raise PermissionDenied
    return customer


def order_get_for_user(*, user, order_id) -> Order:
    try:
        return orders_visible_to(user).select_related("customer").prefetch_related("items__product").get(pk=order_id)
    except (Order.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# Knowledge base --------------------------------------------------------------------------------
# Agents, senior agents and supervisors write the case library (create, edit, publish); department
# staff read what is published; admins read everything; anyone, logged in or not, reads published
# FAQ articles on the public page (`faq_article_get`). Everyone else sees no article at all.


def can_write_articles(user) -> bool:
    return is_agent(user) or is_supervisor(user)


def ensure_article_writer(user) -> None:
    """Writing the knowledge base (new article, draft from a case) is for agents and supervisors."""
    if not can_write_articles(user):
        raise PermissionDenied


def can_read_reports(user) -> bool:
    """Supervisors read and export the reports; admins (read-only desk users) may read them too."""
    return is_supervisor(user) or Role.ADMIN in desk_roles(user)


# Incidents -------------------------------------------------------------------------------------


def can_manage_incidents(user) -> bool:
    """Incidents (批量问题) and their bulk actions are a supervisor's work (DESIGN: who uses it)."""
    return is_supervisor(user)


def ensure_incident_manager(user) -> None:
    if not can_manage_incidents(user):
        raise PermissionDenied


def incident_get_for_user(*, user, incident_id) -> Incident:
    """Supervisors only: the rest of the desk is refused (403), a missing incident is a 404."""
    ensure_incident_manager(user)
    try:
        return Incident.objects.select_related("product", "confirmed_by", "resolved_by").get(pk=incident_id)
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# Approvals -------------------------------------------------------------------------------------
# Supervisors see and decide every request (DESIGN: they approve refunds and compensation above a
# limit); whoever asked sees their own requests on tickets they may still see. The service checks
# again (playbook.approval_decide: a supervisor, never the person who asked).


def can_decide_approvals(user) -> bool:
    return is_supervisor(user)


def approvals_visible_to(user, queryset: QuerySet[ApprovalRequest] | None = None) -> QuerySet[ApprovalRequest]:
    queryset = ApprovalRequest.objects.all() if queryset is None else queryset
    if can_decide_approvals(user):
        return queryset
    return queryset.filter(requested_by=user, ticket__in=tickets_visible_to(user))


def approval_get_for_user(*, user, approval_id, for_decision: bool = False) -> ApprovalRequest:
    """`for_decision`: refused (403) before the lookup, so a request's existence is not revealed."""
    if for_decision and not can_decide_approvals(user):
        raise PermissionDenied
    try:
        return approvals_visible_to(user).select_related("ticket").get(pk=approval_id)
    except (ApprovalRequest.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# Supervision -----------------------------------------------------------------------------------
# DESIGN (who uses it): the supervisor watches queues, workload and SLA breaches, reassigns
# (`can_assign`), runs bulk actions, incidents and the shipping watch, and reads the reports.


def can_see_dashboard(user) -> bool:
    """Workload per person, SLA breaches, reassignment from one page."""
    return is_supervisor(user)


def can_bulk_update(user) -> bool:
    """Assign, prioritise, tag or close many tickets at once (tickets/bulk/)."""
    return is_supervisor(user)


def can_watch_shipping(user) -> bool:
    """Every late or stalled order of the shop, and telling their customers in bulk."""
    return is_supervisor(user)


# Price-difference batches (退差) -----------------------------------------------------------------
# The batch rules sit with the batches in tickets/pricediff.py, which builds on this module:
# `pricediff_batch_get_for_user` / `pricediff_require_reader` (supervisors and finance read batches
# and their reports), `pricediff_require_supervisor` (upload and run, checked again by the service),
# `pricediff_can_decide` (a second person approves, never the uploader). The one rule pages need to
# show or hide a control is named here.


def can_run_price_differences(user) -> bool:
    """Upload and run a batch: tickets.pricediff.policies.pricediff_require_supervisor's rule."""
    return is_supervisor(user)


# The desk's pages: logged in and holding a desk role (department staff included; each view then checks
# the object).
desk_required = role_required(is_desk_user)
