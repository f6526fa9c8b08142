from rest_framework import mixins, serializers, viewsets

from tickets.policies import customer_get_for_user, customers_visible_to, sees_unmasked_pii

from .masking import mask_address, mask_phone
from .models import Customer


class CustomerSerializer(serializers.ModelSerializer):
    """Phone and address are masked unless the viewer may read them (policies.sees_unmasked_pii)."""

    phone = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
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

    def _masked(self) -> bool:
        return not sees_unmasked_pii(self.context["request"].user)

    def get_phone(self, customer) -> str:
        return mask_phone(customer.phone) if self._masked() else customer.phone

    def get_address(self, customer) -> str:
        return mask_address(customer.address) if self._masked() else customer.address

    def get_pii_masked(self, customer) -> bool:
        return self._masked()


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CustomerSerializer
    filterset_fields = ["platform", "tier", "is_difficult", "is_blacklisted"]

    def get_queryset(self):
        return customers_visible_to(self.request.user)

    def get_object(self):
        return customer_get_for_user(user=self.request.user, customer_id=self.kwargs["pk"])
