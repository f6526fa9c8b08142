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
    # +86 / 0086 before an 11-digit mobile is the country code, not the number's prefix.
    for country_code in ("0086", "86"):
        if len(digits) == 11 + len(country_code) and "".join(digits).startswith(country_code):
            digits = digits[len(country_code):]
            break
    if len(digits) >= 8:
        return "".join(digits[:3]) + "****" + "".join(digits[-4:])
    if len(digits) >= 4:
        return "*" * (len(digits) - 2) + "".join(digits[-2:])
    return "****"


# Province (省/自治区/特别行政区) then city (市/自治州/地区/盟) at the start of a Chinese address.
# Names are short and never contain district/street words, so a street named "...城市花园" is not
# mistaken for a city.
_NAME = r"[^\d\s省市区县镇乡路街道号弄栋幢]"
_REGION = re.compile(
    rf"^(?:{_NAME}{{1,7}}?(?:省|自治区|特别行政区))?(?:{_NAME}{{1,7}}?(?:市|自治州|地区|盟))?"
)


def mask_address(address: str) -> str:
    """Keep the region (province and city), hide district, street and number.

    Without a recognisable region, keep at most the first third (never more than 6 characters).
    """
    if not address:
        return ""
    address = address.strip()
    region = _REGION.match(address).group(0)
    if region and len(region) < len(address):
        return region + "****"
    keep = min(6, max(len(address) // 3, 1))
    return address[:keep] + "****"


def masked_if(hidden: bool, *, phone: str = "", address: str = "") -> dict[str, str]:
    if hidden:
        return {"phone": mask_phone(phone), "address": mask_address(address)}
    return {"phone": phone, "address": address}
