from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Customer, Platform


@dataclass(frozen=True)
class Caller:
    """Who is on the line when the order is not known: found by phone, or taken in as a new customer."""

    name: str
    phone: str = ""
    platform: str = Platform.OTHER


@transaction.atomic
def customer_find_or_create(*, name: str, phone: str = "", platform: str = Platform.OTHER) -> Customer:
    """The customer on the phone: matched by phone number when we know it, else created."""
    phone = phone.strip()
    if phone:
        existing = Customer.objects.filter(phone=phone).order_by("id").first()
        if existing:
            return existing
    if not name.strip():
        raise ValidationError({"customer_name": _("Name the customer.")})
    customer = Customer(name=name.strip(), phone=phone, platform=platform or Platform.OTHER)
    customer.full_clean()
    customer.save()
    return customer


# The shop itself, as the "customer" of its own internal work (a bulk price-difference batch's payment
# ticket): a ticket needs a customer, and filing a batch under one of its buyers was wrong.
SHOP_ACCOUNT = "__shop__"


def customer_shop_get() -> Customer:
    customer, _created = Customer.objects.get_or_create(
        platform=Platform.OTHER, platform_account=SHOP_ACCOUNT, defaults={"name": "本店（内部）Shop (internal)"}
    )
    return customer


@transaction.atomic
def customer_find_or_create_by_email(*, address: str, name: str = "") -> Customer:
    """The customer who wrote: matched by e-mail address (case-insensitively), else created with it."""
    address = address.strip()
    existing = Customer.objects.filter(email__iexact=address).order_by("id").first()
    if existing:
        return existing
    customer = Customer(name=(name.strip() or address.split("@")[0])[:100], email=address, platform=Platform.OTHER)
    customer.full_clean()
    customer.save()
    return customer
