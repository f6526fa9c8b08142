"""The desk's roles. Each is a Django group created by a migration (tickets/migrations)."""

from django.utils.translation import gettext_lazy as _


class Role:
    AGENT = "agent"  # 客服
    SENIOR_AGENT = "senior_agent"  # 资深客服: also takes high-risk complaints
    SUPERVISOR = "supervisor"  # 主管
    DEPARTMENT_STAFF = "department_staff"  # 仓库/物流/财务/技术支持/品控
    ADMIN = "admin"  # configures the desk


ROLE_LABELS = {
    Role.AGENT: _("Agent"),
    Role.SENIOR_AGENT: _("Senior agent"),
    Role.SUPERVISOR: _("Supervisor"),
    Role.DEPARTMENT_STAFF: _("Department staff"),
    Role.ADMIN: _("Admin"),
}
ALL_ROLES = tuple(ROLE_LABELS)

# The departments every shop has (seed 000's relay: warehouse, logistics, finance, tech support, quality).
DEFAULT_DEPARTMENTS = (
    ("warehouse", "仓库", "Warehouse"),
    ("logistics", "物流", "Logistics"),
    ("finance", "财务", "Finance"),
    ("tech_support", "技术支持", "Tech support"),
    ("quality", "品控", "Quality"),
)
