"""The demo's builders: staff users, customers, products, orders and the scripted tickets, each keyed on
its natural key so a second run changes nothing. Tickets are replayed through the services on a demo
clock. The command (tickets/management/commands/seed_demo.py) sets `self.now` and calls them in one
transaction."""

from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.utils import timezone

from customers.models import Customer
from orders.models import Order, OrderItem, Product
from tickets.assignment import ticket_assign
from tickets.followup.services import follow_up_record, survey_submit
from tickets.models import Channel, Department, Message, StaffProfile, Subtask, Ticket
from tickets.roles import DEFAULT_DEPARTMENTS, Role
from tickets.services import message_add, ticket_classify, ticket_create, ticket_set_summary
from tickets.subtasks import subtask_complete, subtask_create, subtask_reject, subtask_start
from tickets.workflow import ticket_transition

from .cases_closed import CLOSED_CASES
from .cases_open import OPEN_CASES
from .data import (
    CUSTOMERS,
    DEMO_USERS,
    DEPARTMENT_USER,
    DOUBLE_ELEVEN,
    ORDERS,
    PRODUCTS,
    DemoTicket,
    _last_double_eleven,
    _tracking_number,
    demo_password,
)

EXTERNAL_SOURCE = "demo"
DEMO_TICKETS = OPEN_CASES + CLOSED_CASES  # seeded oldest first (see _seed_tickets)


class _DemoClock:
    """Stands in for timezone.now while one demo ticket is replayed."""

    def __init__(self, start: datetime, gap: timedelta):
        self.moment, self.gap = start, gap

    def __call__(self) -> datetime:
        return self.moment

    def tick(self) -> None:
        self.moment += self.gap


class DemoBuilder:
    """seed_demo's building steps, mixed into the command (which sets `now` and reports)."""

    # Users --------------------------------------------------------------------------------

    def _seed_users(self) -> dict:
        User = get_user_model()
        departments = {
            code: Department.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en})[0]
            for code, name, name_en in DEFAULT_DEPARTMENTS
        }
        users = {}
        for username, role, department, refund_limit, display_name in DEMO_USERS:
            user = User.objects.filter(username=username).first() or User(username=username)
            user.first_name = display_name
            user.is_active = True
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.set_password(demo_password(username))
            user.save()
            user.groups.set([Group.objects.get_or_create(name=role)[0]])
            StaffProfile.objects.update_or_create(
                user=user,
                defaults={
                    "department": departments[department] if department else None,
                    "on_duty": True,
                    "refund_limit": Decimal(refund_limit),
                },
            )
            users[username] = user
        return users

    # Customers, products, orders ----------------------------------------------------------

    def _seed_customers(self) -> dict:
        customers = {}
        for key, platform, account, name, phone, address, vip, difficult, email, notes in CUSTOMERS:
            customers[key], _ = Customer.objects.get_or_create(
                platform=platform,
                platform_account=account,
                defaults={
                    "name": name, "phone": phone, "address": address, "email": email, "notes": notes,
                    "tier": Customer.Tier.VIP if vip else Customer.Tier.NORMAL, "is_difficult": difficult,
                },
            )
        return customers

    def _seed_products(self) -> dict:
        products = {}
        for sku, name, model, category, price in PRODUCTS:
            product, _ = Product.objects.get_or_create(
                sku=sku, defaults={"name": name, "model": model, "category": category}
            )
            products[sku] = (product, Decimal(price))
        return products

    def _seed_orders(self, customers: dict, products: dict) -> dict:
        orders = {}
        for key, customer_key, number, days_ago, logistics, carrier, warehouse, lines in ORDERS:
            customer = customers[customer_key]
            if days_ago == DOUBLE_ELEVEN:
                placed_at = _last_double_eleven(self.now)
            else:
                placed_at = self.now - timedelta(days=days_ago, hours=(int(number[-2:]) % 9))
            delivered = logistics == Order.LogisticsStatus.DELIVERED
            order, created = Order.objects.get_or_create(
                platform=customer.platform,
                external_number=number,
                defaults={
                    "customer": customer,
                    # Buyers confirm receipt some days after delivery (交易成功); until then it stays shipped.
                    "status": Order.Status.COMPLETED
                    if delivered and self.now - placed_at > timedelta(days=9)
                    else Order.Status.SHIPPED,
                    "paid_amount": sum((Decimal(paid) for _, _, paid in lines), Decimal("0")),
                    "placed_at": placed_at,
                    "ship_by": placed_at + timedelta(hours=48),
                    "shipped_at": placed_at + timedelta(hours=6 + int(number[-1]) * 2),
                    "carrier": carrier,
                    "tracking_number": _tracking_number(carrier, number),
                    "logistics_status": logistics,
                    "warehouse": warehouse,
                    "shipping_address": customer.address,
                },
            )
            for sku, quantity, paid in lines:
                product, price = products[sku]
                OrderItem.objects.get_or_create(
                    order=order, product=product,
                    defaults={"quantity": quantity, "unit_price": price, "paid_amount": Decimal(paid)},
                )
            orders[key] = order
        return orders

    # Tickets ------------------------------------------------------------------------------

    def _seed_tickets(self, users: dict, customers: dict, orders: dict) -> tuple[int, int]:
        existing = set(
            Ticket.objects.filter(external_source=EXTERNAL_SOURCE).values_list("external_id", flat=True)
        )
        created = skipped = 0
        # Oldest first, each backdated as soon as it is built: the repeat-contact rule then sees
        # the customer's history as it was, not forty tickets created in the same second.
        for spec in sorted(DEMO_TICKETS, key=lambda s: -s.days_ago):
            if spec.id in existing:
                skipped += 1
                continue
            self._build_ticket(spec, users, customers[spec.customer], orders.get(spec.order))
            created += 1
        return created, skipped

    def _build_ticket(self, spec: DemoTicket, users: dict, customer: Customer, order: Order | None) -> None:
        items = (
            list(order.items.select_related("product").filter(product__sku__in=spec.items)) if order else []
        )
        fields = {
            "customer_request": spec.request,
            "requested_amount": Decimal(spec.amount) if spec.amount else None,
            "threatens_exposure": spec.exposure,
            "platform_intervention": spec.channel == "platform_dispute",
        }
        if spec.preset_type:
            fields["type"] = spec.type
        if order is not None:
            fields["purchase_date"] = timezone.localtime(order.placed_at).date()
        if items:
            fields["product_model"] = items[0].product.model
        created_at = self.now - timedelta(days=spec.days_ago)
        if order is not None:
            created_at = max(created_at, order.placed_at + timedelta(hours=2))
        # Replay the case on a demo clock so every timestamp (messages, events, first response,
        # resolution) tells the story in order, a few hours apart, never in the future.
        step_gap = min(timedelta(hours=3), (self.now - created_at) / (len(spec.steps) + 1))
        clock = _DemoClock(created_at, step_gap)
        with mock.patch("django.utils.timezone.now", clock):
            ticket = ticket_create(
                actor=users["agent"], channel=spec.channel, description=spec.text, customer=customer, order=order,
                affected_items=items, tags=spec.tags, external_source=EXTERNAL_SOURCE, external_id=spec.id,
                **fields,
            )
            subtasks: list[Subtask] = []
            for step in spec.steps:
                clock.tick()
                self._run_step(ticket, spec, step, users, subtasks)
                ticket = Ticket.objects.get(pk=ticket.pk)
        if ticket.status != spec.status:
            raise CommandError(f"Demo ticket {spec.id} ended {ticket.status}, expected {spec.status}.")

    def _run_step(self, ticket: Ticket, spec: DemoTicket, step: tuple, users: dict, subtasks: list) -> None:
        op, *args = step
        agent = ticket.assignee or users["agent"]
        if op in ("in", "out", "note"):
            direction = {"in": Message.Direction.INBOUND, "out": Message.Direction.OUTBOUND,
                         "note": Message.Direction.NOTE}[op]
            author = users[args[1]] if len(args) > 1 else (None if op == "in" else agent)
            message_add(ticket=ticket, actor=author, direction=direction, body=args[0])
        elif op == "classify":
            values = {"type": spec.type, "category": spec.category, "responsibility": spec.responsibility,
                      **spec.facts, **(args[1] if len(args) > 1 else {})}
            ticket_classify(ticket=ticket, actor=agent, reason=args[0], **values)
        elif op in ("triage", "start"):
            ticket_transition(ticket=ticket, action=op, actor=agent)
        elif op in ("wait", "resume", "resolve", "close", "reopen", "archive"):
            action = "wait_customer" if op == "wait" else op
            ticket_transition(ticket=ticket, action=action, actor=agent, reason=args[0])
        elif op == "survey":
            survey_submit(ticket=ticket, solved=args[0], score=args[1], comment=args[2])
        elif op == "follow_up":
            follow_up_record(ticket=ticket, actor=agent, channel=Channel.PHONE, result=args[0], note=args[1],
                             score=args[2] if len(args) > 2 else None)
        elif op == "summary":
            root_cause, done, lesson = args
            ticket_set_summary(ticket=ticket, actor=agent, root_cause=root_cause, summary=done, what_worked=lesson)
        elif op == "assign":
            ticket_assign(ticket=ticket, actor=users["supervisor"], assignee=users[args[0]], reason=args[1])
        elif op == "sub":
            code, kind, description, due_hours = args
            subtasks.append(subtask_create(
                ticket=ticket, actor=agent, department=Department.objects.get(code=code), kind=kind,
                description=description, due_at=timezone.now() + timedelta(hours=due_hours),
            ))
        elif op in ("sub_start", "sub_done", "sub_reject"):
            index = args[0]
            subtask = Subtask.objects.select_related("department").get(pk=subtasks[index].pk)
            worker = users[DEPARTMENT_USER[subtask.department.code]]
            if op == "sub_start":
                subtasks[index] = subtask_start(subtask=subtask, actor=worker)
            elif op == "sub_done":
                subtasks[index] = subtask_complete(subtask=subtask, actor=worker, result=args[1])
            else:
                subtasks[index] = subtask_reject(subtask=subtask, actor=worker, reason=args[1])
        else:
            raise CommandError(f"Demo ticket {spec.id}: unknown step {op!r}.")
