"""Who works the desk: departments, staff profiles; and the tags agents put on tickets."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A team that works subtasks handed over by agents (warehouse, finance...). Admins can add more."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=50, blank=True)
    # The department's internal target for a subtask when the agent sets no due time.
    subtask_target_hours = models.PositiveIntegerField(_("subtask target (hours)"), default=24)
    # The hours the department works: the target counts only those (none: around the clock). The holidays
    # and make-up workdays are the calendar's.
    calendar = models.ForeignKey("tickets.BusinessCalendar", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name=_("business calendar"))

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self):
        return self.name


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile", verbose_name=_("user")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="staff", verbose_name=_("department")
    )
    on_duty = models.BooleanField(_("on duty"), default=True)
    # The largest refund or compensation this person may grant alone; above it someone else approves.
    refund_limit = models.DecimalField(_("refund limit"), max_digits=12, decimal_places=2, default=Decimal("200"))
    # No limit at all, for supervisors only and only when said here: being a supervisor is not enough.
    refunds_unlimited = models.BooleanField(_("no refund limit"), default=False, db_default=False)
    # The desk's language for this person; blank: the shop's (LANGUAGE_CODE), whatever the browser asks for.
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True, default="",
                                db_default="")

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return str(self.user)


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name
