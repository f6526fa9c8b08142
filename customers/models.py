from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.choices import QuickChoiceLabels


class Platform(models.TextChoices):
    """Where the customer bought: the platform decides the after-sales rules and clocks."""

    TAOBAO = "taobao", _("Taobao")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD")
    DOUYIN = "douyin", _("Douyin")
    PINDUODUO = "pinduoduo", _("Pinduoduo")
    OWN_SITE = "own_site", _("Own site")
    OTHER = "other", _("Other")


class Customer(QuickChoiceLabels):
    class Tier(models.TextChoices):
        NORMAL = "normal", _("Normal")
        VIP = "vip", _("VIP")

    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices, default=Platform.OTHER)
    # The buyer's nickname or id on the platform (旺旺号, 京东账号, 抖音昵称...).
    platform_account = models.CharField(_("platform account"), max_length=100, blank=True)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, default=Tier.NORMAL)
    is_difficult = models.BooleanField(_("difficult customer"), default=False)
    is_blacklisted = models.BooleanField(_("blacklisted"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["platform"], name="customer_platform_idx"),  # queue filter by platform
            # The queue's search looks customers up by exact name and exact platform account.
            models.Index(fields=["name"], name="customer_name_idx"),
            models.Index(fields=["platform_account"], name="customer_platform_account_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "platform_account"],
                condition=~Q(platform_account=""),
                name="customer_unique_platform_account",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_vip(self) -> bool:
        return self.tier == self.Tier.VIP
