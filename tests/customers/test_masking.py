"""PII masking for people who must not read a customer's phone or address (department staff)."""

import pytest

from customers.masking import mask_address, mask_phone, masked_if


@pytest.mark.parametrize(
    "phone",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+8613812345678", "0086 13812345678"],
)
def test_chinese_mobile_keeps_first_three_and_last_four_digits(phone):
    assert mask_phone(phone) == "138****5678"


def test_landline_with_area_code_keeps_only_prefix_and_last_four():
    masked = mask_phone("0571-8888 1234")

    assert masked == "057****1234"
    assert "8888" not in masked


@pytest.mark.parametrize(("phone", "masked"), [("1234567", "*****67"), ("5678", "**78"), ("12", "****")])
def test_short_numbers_show_at_most_the_last_two_digits(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("phone", ["", None])
def test_no_phone_masks_to_empty(phone):
    assert mask_phone(phone) == ""


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("浙江省杭州市西湖区文三路100号", "浙江省杭州市****"),
        ("广东省深圳市南山区科技园南区8栋", "广东省深圳市****"),
        ("上海市浦东新区张江路88弄3号", "上海市****"),
        ("北京市朝阳区建国路1号", "北京市****"),
        ("新疆维吾尔自治区乌鲁木齐市天山区解放北路1号", "新疆维吾尔自治区乌鲁木齐市****"),
        ("  江苏省南京市鼓楼区中山路1号  ", "江苏省南京市****"),
    ],
    ids=["zhejiang", "guangdong", "shanghai", "beijing", "xinjiang", "padded"],
)
def test_address_keeps_only_the_province_and_city(address, masked):
    assert mask_address(address) == masked


@pytest.mark.parametrize(
    "address",
    ["文三路100号", "西湖区文三路城市花园3幢", "12 Baker Street, London"],
    ids=["street-only", "city-word-in-street", "latin"],
)
def test_address_without_a_recognisable_region_hides_most_of_it(address):
    masked = mask_address(address)

    assert masked.endswith("****")
    kept = masked.removesuffix("****")
    assert len(kept) <= max(len(address) // 3, 1)
    assert address.startswith(kept)


def test_no_address_masks_to_empty():
    assert mask_address("") == ""


def test_masked_if_hides_both_for_those_who_must_not_see():
    assert masked_if(True, phone="13812345678", address="浙江省杭州市西湖区文三路100号") == {
        "phone": "138****5678",
        "address": "浙江省杭州市****",
    }


def test_masked_if_shows_both_for_those_who_may_see():
    assert masked_if(False, phone="13812345678", address="浙江省杭州市西湖区文三路100号") == {
        "phone": "13812345678",
        "address": "浙江省杭州市西湖区文三路100号",
    }
