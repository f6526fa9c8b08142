from rest_framework import mixins, serializers, viewsets

from customers.models import Customer

from ..policies import customer_contact_for, customer_get_for_user, customers_visible_to, sees_unmasked_pii

# Serializer field → key of tickets.policies.customer_contact_for.
CONTACT_FIELDS = {"name": "name", "phone": "phone", "email": "email", "platform_account": "account",
                  "address": "address", "notes": "notes"}


class CustomerContactMixin:
    """For a serializer of Customer: its name, phone, e-mail, platform account, address and notes come
    out as the requesting user may see them (customer_contact_for). No request in the context: masked."""

    def _viewer(self):
        request = self.context.get("request")
        return getattr(request, "user", None)

    def to_representation(self, customer):
        data = super().to_representation(customer)
        contact = customer_contact_for(self._viewer(), customer)
        for field, key in CONTACT_FIELDS.items():
            if field in data:
                data[field] = contact[key]
        return data


class CustomerSerializer(CustomerContactMixin, serializers.ModelSerializer):
    """Name, phone, e-mail, platform account and address are masked, and the notes withheld, unless the
    viewer may read them (policies.sees_unmasked_pii); `pii_masked` says which."""

    pii_masked = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "phone",
            "email",
            "address",
            "platform",
            "platform_account",
            "tier",
            "is_difficult",
            "is_blacklisted",
            "notes",
            "created_at",
            "pii_masked",
        ]

    def get_pii_masked(self, customer) -> bool:
        return not sees_unmasked_pii(self._viewer())


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CustomerSerializer
    filterset_fields = ["platform", "tier", "is_difficult", "is_blacklisted"]

    def get_queryset(self):
        return customers_visible_to(self.request.user)

    def get_object(self):
        return customer_get_for_user(user=self.request.user, customer_id=self.kwargs["pk"])
