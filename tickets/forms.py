"""Browser forms: they only validate, then hand cleaned_data to a service."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.limits import TEXT_MAX_CHARS
from customers.models import Customer, Platform
from orders.models import Order, OrderItem

from .followup.models import FollowUp
from .models import (
    Category,
    Channel,
    Department,
    Incident,
    Message,
    Priority,
    Responsibility,
    RiskLevel,
    Solution,
    Subtask,
    TicketType,
)
from .roles import Role
from .subtasks import SUBTASK_TRANSITIONS
from .workflow import MANUAL_ACTIONS


class IntakeForm(forms.Form):
    """Built for a phone call: the order number first; the customer and items follow from it."""

    # The case's facts handed to tickets.services.ticket_create as they are (when filled in).
    TICKET_FACTS = ("customer_request", "requested_amount", "type", "category", "product_model", "purchase_date",
                    "symptom", "frequency", "threatens_exposure", "platform_intervention")

    order_number = forms.CharField(label=_("Order number"), max_length=64, required=False)
    order_platform = forms.ChoiceField(label=_("Platform"), choices=[("", "—"), *Platform.choices], required=False)
    no_order = forms.BooleanField(label=_("The customer has no order number (pre-sale or unknown)"), required=False)
    customer = forms.ModelChoiceField(label=_("Existing customer"), queryset=Customer.objects.all(), required=False,
                                      widget=forms.HiddenInput)
    customer_name = forms.CharField(label=_("Customer name"), max_length=100, required=False)
    customer_phone = forms.CharField(label=_("Customer phone"), max_length=32, required=False)
    customer_platform = forms.ChoiceField(label=_("Customer platform"), choices=Platform.choices, required=False,
                                          initial=Platform.OTHER)
    affected_items = forms.ModelMultipleChoiceField(
        label=_("Affected items"), queryset=OrderItem.objects.all(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    description = forms.CharField(label=_("The customer's own words"), max_length=TEXT_MAX_CHARS,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    customer_request = forms.CharField(label=_("What the customer asks for"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))
    requested_amount = forms.DecimalField(label=_("Requested amount (CNY)"), required=False, min_value=0,
                                          max_digits=12, decimal_places=2)
    type = forms.ChoiceField(label=_("Type"), choices=[("", "—"), *TicketType.choices], required=False)
    category = forms.ChoiceField(label=_("Category"), choices=[("", "—"), *Category.choices], required=False)
    product_model = forms.CharField(label=_("Product model"), max_length=100, required=False)
    purchase_date = forms.DateField(label=_("Purchase date"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))
    symptom = forms.CharField(label=_("Symptom"), required=False, max_length=TEXT_MAX_CHARS,
                              widget=forms.Textarea(attrs={"rows": 2}))
    frequency = forms.CharField(label=_("Frequency"), max_length=100, required=False)
    threatens_exposure = forms.BooleanField(label=_("Threatens public exposure"), required=False)
    platform_intervention = forms.BooleanField(label=_("Platform intervention"), required=False)
    evidence = forms.FileField(label=_("Evidence (photo, video, PDF)"), required=False)
    # Whoever takes the contact keeps the case, unless they choose to let the desk assign it.
    assign_automatically = forms.BooleanField(label=_("Let the desk assign it (I will not work this case)"),
                                              required=False)

    def clean(self):
        data = super().clean()
        number = (data.get("order_number") or "").strip()
        if number:
            orders = Order.objects.select_related("customer").filter(external_number=number)
            if data.get("order_platform"):
                orders = orders.filter(platform=data["order_platform"])
            found = list(orders[:2])
            if not found:
                self.add_error("order_number", _("No order with this number. Check it with the customer."))
            elif len(found) > 1:
                self.add_error("order_platform", _("This number exists on several platforms: choose one."))
            else:
                data["order"] = found[0]
                foreign = [i for i in data.get("affected_items") or [] if i.order_id != found[0].pk]
                if foreign:
                    self.add_error("affected_items", _("Pick items of this order only."))
        elif not data.get("no_order"):
            # The classic delay (DESIGN): a case without its order number. Ask for it, or confirm there is none.
            self.add_error("order_number", _("Ask for the order number, or tick that there is none."))
        elif not data.get("customer") and not data.get("customer_name"):
            self.add_error("customer_name", _("Without an order, name the customer."))
        return data


class NamedControls:
    """For forms drawn as compact rows without their <label>s: each control still says its name to a
    screen reader (the field's label, in the person's language)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if field.label and not field.widget.is_hidden:
                field.widget.attrs.setdefault("aria-label", field.label)


class ReplyForm(NamedControls, forms.Form):
    direction = forms.ChoiceField(
        label=_("Kind"),
        choices=[(Message.Direction.OUTBOUND, _("Reply to customer")), (Message.Direction.NOTE, _("Internal note")),
                 (Message.Direction.INBOUND, _("Record what the customer said"))],
        initial=Message.Direction.OUTBOUND,
    )
    body = forms.CharField(label=_("Text"), max_length=TEXT_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 4}))
    attachment = forms.FileField(label=_("Attachment"), required=False)


class VersionedForm(forms.Form):
    """Carries the version of the ticket (or subtask) the person saw: a save made from a stale page is
    refused (tickets.workflow.StaleVersion) instead of silently overwriting someone else's change."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    # When the page was shown: the changes made since are the ones shown if the save is refused.
    seen_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen_at"].initial = timezone.now()


class ClassifyForm(VersionedForm):
    # A blank first option: an unclassified ticket shows "—", not the first category as if it were set.
    type = forms.ChoiceField(label=_("Type"), choices=[("", "—"), *TicketType.choices])
    category = forms.ChoiceField(label=_("Category"), choices=[("", "—"), *Category.choices])
    responsibility = forms.ChoiceField(label=_("Responsibility"), choices=Responsibility.choices)
    product_model = forms.CharField(label=_("Product model"), max_length=100, required=False)
    symptom = forms.CharField(label=_("Symptom"), required=False, max_length=TEXT_MAX_CHARS,
                              widget=forms.Textarea(attrs={"rows": 2}))
    frequency = forms.CharField(label=_("Frequency"), max_length=100, required=False)
    tags = forms.CharField(label=_("Tags (comma separated)"), required=False)

    def clean_tags(self):
        raw = self.cleaned_data["tags"].replace("，", ",")
        return [t.strip() for t in raw.split(",") if t.strip()]


class OverrideForm(VersionedForm):
    priority = forms.ChoiceField(label=_("Priority"), choices=[("", "—"), *Priority.choices], required=False)
    risk_level = forms.ChoiceField(label=_("Risk"), choices=[("", "—"), *RiskLevel.choices], required=False)
    reason = forms.CharField(label=_("Why"), max_length=500)


class TransitionForm(VersionedForm):
    action = forms.ChoiceField(choices=[(a, a) for a in MANUAL_ACTIONS])
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)


class SummaryForm(VersionedForm):
    root_cause = forms.CharField(label=_("Root cause"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    summary = forms.CharField(label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    what_worked = forms.CharField(label=_("What worked (the lesson)"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))


class FollowUpForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    result = forms.ChoiceField(label=_("Result"), choices=FollowUp.Result.choices)
    score = forms.TypedChoiceField(label=_("Satisfaction (if the customer gave one)"), coerce=int, empty_value=None,
                                   required=False, choices=[("", "—"), *[(i, "★" * i) for i in range(1, 6)]])
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SubtaskForm(forms.Form):
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.all())
    kind = forms.ChoiceField(label=_("Kind"), choices=Subtask.Kind.choices)
    description = forms.CharField(label=_("What is needed"), max_length=TEXT_MAX_CHARS,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    due_at = forms.DateTimeField(label=_("Due (empty: the department's target)"), required=False,
                                 widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    upload = forms.FileField(label=_("A file for the department"), required=False,
                             help_text=_("The case's own files are shown to the department anyway."))


class SubtaskActionForm(VersionedForm):
    action = forms.ChoiceField(choices=[(a, a) for a in SUBTASK_TRANSITIONS])
    result = forms.CharField(label=_("Result or reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # On a phone the picker offers the camera first; the upload's type is checked on the server all the same.
    attachment = forms.FileField(label=_("Attachment"), required=False, widget=forms.ClearableFileInput(
        attrs={"accept": "image/*,video/*,application/pdf"}))


def desk_workers():
    return get_user_model().objects.filter(
        is_active=True, groups__name__in=(Role.AGENT, Role.SENIOR_AGENT, Role.SUPERVISOR)
    ).distinct().order_by("username")


def worker_label(user) -> str:
    """People by the name colleagues know them by, with the login after it."""
    name = user.get_full_name()
    return f"{name} ({user.username})" if name else user.username


class WorkerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return worker_label(user)


class AssignForm(NamedControls, VersionedForm):
    assignee = WorkerChoiceField(label=_("Assign to"), queryset=desk_workers(), required=False)
    reason = forms.CharField(label=_("Why"), required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = desk_workers()


class BulkActionForm(NamedControls, forms.Form):
    ACTIONS = (("assign", _("Assign")), ("priority", _("Set priority")), ("tag", _("Add tag")),
               ("incident_new", _("Open an incident from these")), ("incident_add", _("Add to incident")))
    INCIDENT_ACTIONS = ("incident_new", "incident_add")

    tickets = forms.CharField(widget=forms.HiddenInput)
    action = forms.ChoiceField(label=_("Bulk action"), choices=ACTIONS)
    assignee = WorkerChoiceField(label=_("Assign to"), queryset=desk_workers(), required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=[("", "—"), *Priority.choices], required=False)
    tag = forms.CharField(label=_("Tag"), max_length=50, required=False)
    reason = forms.CharField(label=_("Why"), required=False, max_length=500)
    # "Add to incident": the open ones (suggested or confirmed), newest first.
    incident = forms.ModelChoiceField(
        label=_("Incident"), required=False, empty_label=_("— incident —"),
        queryset=Incident.objects.filter(status__in=[Incident.Status.SUGGESTED, Incident.Status.CONFIRMED]),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = desk_workers()
        self.fields["incident"].queryset = Incident.objects.filter(
            status__in=[Incident.Status.SUGGESTED, Incident.Status.CONFIRMED]).only("pk", "title").order_by("-pk")

    def clean_tickets(self):
        try:
            ids = [int(v) for v in self.cleaned_data["tickets"].split(",") if v.strip()]
        except ValueError:
            raise forms.ValidationError(_("Choose tickets from the list.")) from None
        if not ids:
            raise forms.ValidationError(_("Choose at least one ticket."))
        return ids[:200]

    def clean(self):
        data = super().clean()
        needed = {"assign": "assignee", "priority": "priority", "tag": "tag",
                  "incident_add": "incident"}.get(data.get("action"))
        if needed and not data.get(needed):
            self.add_error(needed, _("This field is required."))
        if data.get("action") == "priority" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why you override the priority."))
        return data


class SolutionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Solution"), choices=Solution.Kind.choices)
    amount = forms.DecimalField(label=_("Amount (CNY)"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    # Blank follows the playbook's rule (tickets/playbook.py return_required_by_rule); "no" where the rule
    # wants the item back asks a supervisor for a waiver.
    return_required = forms.TypedChoiceField(
        label=_("The item must come back"),
        choices=(("", _("As the playbook says")), ("yes", _("Yes")), ("no", _("No (a supervisor must waive it)"))),
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )
    customer_sends_back = forms.CharField(label=_("What the customer sends back"), max_length=200, required=False)
    expected_days = forms.IntegerField(label=_("Expected days"), min_value=0, max_value=365, required=False)
    shop_cost = forms.DecimalField(label=_("Cost to the shop (CNY)"), min_value=0, max_digits=12, decimal_places=2,
                                   initial=0)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    waiver_reason = forms.CharField(label=_("Why the item need not come back (asks a supervisor)"), required=False)


class ConfirmSolutionForm(forms.Form):
    channel = forms.ChoiceField(label=_("Confirmed by"), choices=Channel.choices)
    text = forms.CharField(label=_("The exact words the customer agreed to"), widget=forms.Textarea(attrs={"rows": 2}))


class ApprovalDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=(("approve", _("Approve")), ("reject", _("Reject"))))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=1000)
