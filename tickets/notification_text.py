"""A notification in one sentence with its facts: what happened, on which ticket, for which customer and
order, by when ("工单 T-2024-000123 已超时（首次响应），客户 张** — 淘宝订单 TB…").

The facts come from the row and what the list already joins (ticket, customer, order, subtask and its
department: `NOTIFICATION_RELATED`) and from `data`, written when the notice was created (amounts, the
approval's kind, the customer's words, the departments holding a case) — never a query per row. An older
row without a fact reads the same sentence without it. The customer's name is masked for whoever may not
read it (department staff, and every e-mail: mail leaves the desk).
"""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from customers.masking import mask_name

from .notifications import Notification
from .sla.sweep import CLOCK_LABELS

# What a list of notifications joins so that every sentence is written without another query.
NOTIFICATION_RELATED = ("ticket__customer", "ticket__order", "subtask__department")
WORDS_KEPT = 120  # the customer's words quoted in a notice (data["words"]) are cut to this


def _due(value: str | None) -> str:
    if not value:
        return ""
    return timezone.localtime(datetime.fromisoformat(value)).strftime("%m-%d %H:%M")


def _department(department, code: str = "") -> str:
    if department is None:
        return code
    english = not (get_language() or "").startswith("zh")
    return (department.name_en if english and department.name_en else department.name) or department.code


def _about(ticket, *, masked: bool) -> str:
    """Who and which order the case is about: "customer 张** — Taobao order TB0001"."""
    name = ticket.customer.name if ticket.customer_id else ""
    name = mask_name(name) if masked else name
    order = ticket.order if ticket.order_id else None
    if order is None:
        return _("customer %(customer)s") % {"customer": name}
    return _("customer %(customer)s — %(platform)s order %(order)s") % {
        "customer": name, "platform": order.get_platform_display(), "order": order.external_number,
    }


def notification_sentence(notification: Notification, *, masked: bool) -> str:
    """The notice as a sentence in the active language; `masked`: the reader may not see the customer's name."""
    n, data = notification, notification.data or {}
    if n.text:  # a notice written as its own sentence when it was made (a suggested incident)
        return n.text
    ticket = n.ticket
    facts = {"ticket": ticket.number or f"#{ticket.pk}", "due": _due(data.get("due_at")),
             "about": _about(ticket, masked=masked)}
    kind = Notification.Kind
    if n.kind in (kind.SLA_WARNING, kind.SLA_BREACH):
        facts["clock"] = _(CLOCK_LABELS.get(data.get("clock", ""), data.get("clock", "")))
        if n.kind == kind.SLA_WARNING:
            facts["percent"] = data.get("percent", "")
            return _("Ticket %(ticket)s has used %(percent)s%% of its %(clock)s time (due %(due)s), %(about)s.") % facts
        text = _("Ticket %(ticket)s is overdue (%(clock)s), %(about)s.") % facts
        held = data.get("held_by_names") or data.get("held_by")
        if held:
            names = pgettext("between names in a list", ", ").join(_department_pair(h) for h in held)
            text += " " + _("Departments holding it: %(departments)s.") % {"departments": names}
        return text
    if n.kind == kind.FOLLOW_UP_DUE:
        return _("Time to follow up ticket %(ticket)s (by %(due)s), %(about)s.") % facts
    if n.kind == kind.AUTO_CLOSED:
        return _("Ticket %(ticket)s closed automatically: the customer did not answer, %(about)s.") % facts
    if n.kind in (kind.SUBTASK_DUE_SOON, kind.SUBTASK_OVERDUE, kind.SUBTASK_REJECTED):
        subtask = n.subtask
        facts["department"] = _department(subtask.department if subtask else None, data.get("department", ""))
        facts["subtask"] = subtask.get_kind_display() if subtask else ""
        if n.kind == kind.SUBTASK_DUE_SOON:
            return _("%(department)s's subtask “%(subtask)s” on ticket %(ticket)s is due %(due)s.") % facts
        if n.kind == kind.SUBTASK_OVERDUE:
            return _("%(department)s's subtask “%(subtask)s” on ticket %(ticket)s is overdue (due %(due)s).") % facts
        facts["reason"] = data.get("reason") or "—"
        return _("%(department)s sent back the subtask “%(subtask)s” on ticket %(ticket)s: %(reason)s") % facts
    if n.kind == kind.APPROVAL_REQUESTED:
        facts["amount"] = data.get("amount", "")
        if data.get("pricediff_batch"):
            return _("A price-difference batch of ¥%(amount)s waits for your approval.") % facts
        if data.get("approval_kind") == "return_waiver":
            return _("Ticket %(ticket)s: waiving the return of a defective item waits for your approval, "
                     "%(about)s.") % facts
        if facts["amount"]:
            return _("A refund of ¥%(amount)s on ticket %(ticket)s waits for your approval, %(about)s.") % facts
        return _("A request on ticket %(ticket)s waits for your approval, %(about)s.") % facts
    if n.kind == kind.APPROVAL_DECIDED:
        if data.get("status") == "approved":
            text = _("Your request on ticket %(ticket)s was approved.") % facts
        else:
            text = _("Your request on ticket %(ticket)s was rejected.") % facts
        return f"{text} “{data['reason']}”" if data.get("reason") else text
    if n.kind == kind.NOT_SOLVED:
        facts["words"] = data.get("words", "")
        if facts["words"]:
            return _("The customer says ticket %(ticket)s is not solved: “%(words)s”, %(about)s.") % facts
        return _("The customer says ticket %(ticket)s is not solved, %(about)s.") % facts
    if n.kind == kind.LOW_SATISFACTION:
        facts["score"] = data.get("score", "?")
        return _("The customer rated ticket %(ticket)s %(score)s out of 5, %(about)s.") % facts
    return f"{n.get_kind_display()}: {facts['ticket']}"


def _department_pair(held) -> str:
    """A department holding a case as stored: [name, English name] (newer rows) or its code (older)."""
    if isinstance(held, list | tuple) and held:
        english = not (get_language() or "").startswith("zh")
        return (held[1] if english and len(held) > 1 and held[1] else held[0]) or ""
    return str(held)
