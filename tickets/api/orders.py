from rest_framework import mixins, serializers, viewsets

from customers.masking import mask_address
from orders.models import Order, OrderItem

from ..policies import order_get_for_user, orders_visible_to, sees_unmasked_pii


class OrderItemSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    product_model = serializers.CharField(source="product.model", read_only=True)

    class Meta:
        model = OrderItem
        fields = ["id", "sku", "product_name", "product_model", "quantity", "unit_price", "paid_amount"]


class OrderSerializer(serializers.ModelSerializer):
    items = OrderItemSerializer(many=True, read_only=True)
    shipping_address = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "platform",
            "external_number",
            "customer",
            "status",
            "paid_amount",
            "currency",
            "placed_at",
            "ship_by",
            "shipped_at",
            "carrier",
            "tracking_number",
            "logistics_status",
            "warehouse",
            "shipping_address",
            "items",
        ]

    def get_shipping_address(self, order) -> str:
        if sees_unmasked_pii(self.context["request"].user):
            return order.shipping_address
        return mask_address(order.shipping_address)


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    filterset_fields = ["platform", "external_number", "status", "logistics_status", "customer"]
    ordering = ("-placed_at", "-id")

    def get_queryset(self):
        return orders_visible_to(self.request.user).prefetch_related("items__product")

    def get_object(self):
        return order_get_for_user(user=self.request.user, order_id=self.kwargs["pk"])

    @property
    def paginator(self):
        paginator = super().paginator
        if paginator is not None:
            paginator.ordering = self.ordering
        return paginator
