"""Masking of customer PII for people who must not read it (department staff).

The maskers here are pure string functions; who sees what is decided once, by
`tickets.policies.sees_unmasked_pii`, and `tickets.policies.customer_contact_for(user, customer)`
applies it to a customer. Templates, serializers and exports show what that helper returns and
never mask (or unmask) a field on their own.

The rules, chosen so that a department can still tell customers apart on a call or a parcel,
but cannot read who they are:
- name: a Chinese name keeps its family name (the first character), each other character becomes
  "*": 王芳 → 王*, 王女士 → 王**. A Latin name keeps each word's initial and stars for the rest of
  the word: "John Smith" → "J*** S****". A one-character name is "*" (it would be its own family name).
  Compound family names (欧阳) keep only their first character too: the rule never needs a list.
- phone: 138****5678 (first 3 and last 4 digits of a mobile; see `mask_phone`).
- e-mail: the first character of the mailbox, "***", and the domain: l***@example.com.
- platform account: first and last character around "***": 小***物, j***8 (the length is hidden).
- address: the province and city only: 浙江省杭州市**** (see `mask_address`).
- the agents' notes on the customer: withheld (free text cannot be masked).
"""

import re

_DIGITS = re.compile(r"\d")
# A name starting with a Han ideograph is written the Chinese way: family name first, no spaces.
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def mask_name(name: str) -> str:
    """王芳 → 王*, 王女士 → 王**; "John Smith" → "J*** S****"; a single character → "*"."""
    name = (name or "").strip()
    if not name:
        return ""
    words = name.split()
    if _HAN.match(name) or len(words) == 1:
        name = "".join(words)
        return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"
    return " ".join(word[0] + "*" * (len(word) - 1) for word in words)


def mask_email(email: str) -> str:
    """l***@example.com: the mailbox's first character, the domain (where the mail goes, not who)."""
    email = (email or "").strip()
    if not email:
        return ""
    mailbox, at, domain = email.rpartition("@")
    if not at or not mailbox:
        return mask_account(email)
    return f"{mailbox[0] if len(mailbox) > 1 else ''}***@{domain}"


def mask_account(account: str) -> str:
    """First and last character around a fixed "***" (小芳爱购物 → 小***物); up to 2 characters: "***"."""
    account = (account or "").strip()
    if not account:
        return ""
    if len(account) <= 2:
        return "***"
    return f"{account[0]}***{account[-1]}"


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


def contact_masked(*, name: str = "", phone: str = "", email: str = "", account: str = "",
                   address: str = "", notes: str = "") -> dict[str, str]:
    """Every contact field masked, in the shape `tickets.policies.customer_contact_for` returns.

    The agents' notes on a customer are free text (preferences, history, sometimes a second phone
    number): they cannot be masked, so they are withheld.
    """
    return {
        "name": mask_name(name),
        "phone": mask_phone(phone),
        "email": mask_email(email),
        "account": mask_account(account),
        "address": mask_address(address),
        "notes": "",
    }

