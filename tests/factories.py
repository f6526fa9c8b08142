from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from customers.models import Customer, Platform
from orders.models import Order, OrderItem, Product
from tickets.models import Channel, Department, SLACheck, StaffProfile, Ticket


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-123")

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if extracted:
            user.groups.add(Group.objects.get(name=extracted))

    @factory.post_generation
    def department(user, create, extracted, **kwargs):
        on_duty = kwargs.get("on_duty", True)
        if extracted is not None or "on_duty" in kwargs:
            dept = Department.objects.get(code=extracted) if isinstance(extracted, str) else extracted
            StaffProfile.objects.update_or_create(user=user, defaults={"department": dept, "on_duty": on_duty})


def make_user(role: str, *, department: str | None = None, on_duty: bool = True, username: str | None = None):
    kwargs = {"role": role, "department": department, "department__on_duty": on_duty}
    if username:
        kwargs["username"] = username
    return UserFactory(**kwargs)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"顾客{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    address = "浙江省杭州市西湖区文三路100号"
    # The shop's own site: no platform SLA policy applies unless a test asks for a platform.
    platform = Platform.OWN_SITE
    platform_account = factory.Sequence(lambda n: f"buyer_{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"商品{n}")
    model = "M1"
    category = "家电"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    platform = Platform.TAOBAO
    external_number = factory.Sequence(lambda n: f"TB{n:012d}")
    customer = factory.SubFactory(CustomerFactory)
    paid_amount = Decimal("199.00")
    placed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = Decimal("199.00")
    paid_amount = Decimal("199.00")


class TicketFactory(factory.django.DjangoModelFactory):
    """A bare ticket row for read tests; use tickets.services.ticket_create to test intake."""

    class Meta:
        model = Ticket
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"TF{n:08d}")
    channel = Channel.CHAT
    customer = factory.SubFactory(CustomerFactory)
    description = "收到的衣服尺码不对"

    @factory.post_generation
    def sla_next_check_at(self, create, extracted, **kwargs):
        """The next SLA check, when given: a row of its own (SLACheck)."""
        self.sla_next_check_at = extracted
        if create and extracted is not None:
            SLACheck.objects.create(ticket=self, at=extracted)
