"""Masking of customer PII for people who must not read it (department staff).

One helper for every place that shows a phone number or an address: templates, serializers
and exports call `mask_phone` / `mask_address`, or `masked_if` with the viewer's right.
"""

import re

_DIGITS = re.compile(r"\d")


def mask_phone(phone: str) -> str:
    """138****5678 for a Chinese mobile; keep the first 3 and last 4 digits of anything longer."""
    if not phone:
        return ""
    digits = _DIGITS.findall(phone)
    if len(digits) >= 8:
        return "".join(digits[:3]) + "****" + "".join(digits[-4:])
    if len(digits) >= 4:
        return "*" * (len(digits) - 2) + "".join(digits[-2:])
    return "****"


def mask_address(address: str) -> str:
    """Keep the region (the first 6 characters: province and city), hide street and number."""
    if not address:
        return ""
    address = address.strip()
    keep = min(6, max(len(address) // 3, 1))
    return address[:keep] + "****"


def masked_if(hidden: bool, *, phone: str = "", address: str = "") -> dict[str, str]:
    if hidden:
        return {"phone": mask_phone(phone), "address": mask_address(address)}
    return {"phone": phone, "address": address}
