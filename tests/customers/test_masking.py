"""PII masking for people who must not read a customer's contact details (department staff)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from customers.masking import contact_masked, mask_account, mask_address, mask_email, mask_name, mask_phone
from customers.models import Platform
from customers.services import customer_shop_get
from tests.factories import CustomerFactory
from tickets.api.customers import CustomerSerializer
from tickets.api.serializers import CustomerBriefSerializer
from tickets.policies import customer_contact_for


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


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("王芳", "王*"),
        ("张伟", "张*"),
        ("王女士", "王**"),
        ("欧阳娜娜", "欧***"),
        (" 李 娜 ", "李*"),
        ("John Smith", "J*** S****"),
        ("Mary Jane Watson", "M*** J*** W*****"),
        ("Madonna", "M******"),
        ("lily黄丽", "l*****"),
        ("王", "*"),
        ("J", "*"),
    ],
    ids=["two-han", "two-han-2", "honorific", "compound-family-name", "spaced-han", "latin", "latin-three-words",
         "latin-one-word", "mixed-nickname", "one-han", "one-latin"],
)
def test_name_keeps_only_the_family_name_or_the_initials(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("name", ["", None, "   "])
def test_no_name_masks_to_empty(name):
    assert mask_name(name) == ""


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("lina@example.com", "l***@example.com"),
        ("yangfan2026@163.com", "y***@163.com"),
        ("a@qq.com", "***@qq.com"),
        ("first.last@mail.example.org", "f***@mail.example.org"),
    ],
)
def test_email_keeps_the_first_character_and_the_domain(email, masked):
    assert mask_email(email) == masked


@pytest.mark.parametrize(("email", "masked"), [("", ""), (None, ""), ("no-at-sign", "n***n"), ("@x.com", "@***m")])
def test_email_without_a_mailbox_is_masked_like_an_account(email, masked):
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("account", "masked"),
    [("小芳爱购物", "小***物"), ("jd_zhangwei88", "j***8"), ("abc", "a***c"), ("ab", "***"), ("a", "***"), ("", "")],
)
def test_account_keeps_the_first_and_last_character_and_hides_the_length(account, masked):
    assert mask_account(account) == masked


def test_contact_masked_masks_every_field_and_withholds_the_notes():
    assert contact_masked(name="王芳", phone="13812345678", email="wf@example.com", account="小芳爱购物",
                          address="浙江省杭州市西湖区文三路100号", notes="偏好微信，备用电话13900000000") == {
        "name": "王*",
        "phone": "138****5678",
        "email": "w***@example.com",
        "account": "小***物",
        "address": "浙江省杭州市****",
        "notes": "",
    }


@pytest.fixture
def customer(db):
    return CustomerFactory(name="王芳", phone="13812345678", email="wf@example.com", platform=Platform.TAOBAO,
                           platform_account="小芳爱购物", address="浙江省杭州市西湖区文三路100号", notes="VIP")


@pytest.mark.parametrize("role", ["agent", "senior", "supervisor", "admin_user"])
def test_desk_people_see_the_customer_in_full(request, role, customer):
    contact = customer_contact_for(request.getfixturevalue(role), customer)

    assert contact == {"name": "王芳", "phone": "13812345678", "email": "wf@example.com", "account": "小芳爱购物",
                       "address": "浙江省杭州市西湖区文三路100号", "notes": "VIP"}


@pytest.mark.parametrize("viewer", ["warehouse_staff", "finance_staff", "no viewer", "anonymous"])
def test_department_staff_and_strangers_see_the_customer_masked(request, viewer, customer):
    others = {"no viewer": None, "anonymous": AnonymousUser()}
    user = others[viewer] if viewer in others else request.getfixturevalue(viewer)

    contact = customer_contact_for(user, customer)

    assert contact == {"name": "王*", "phone": "138****5678", "email": "w***@example.com", "account": "小***物",
                       "address": "浙江省杭州市****", "notes": ""}


def test_the_shop_itself_is_not_a_person_and_is_shown_in_full(warehouse_staff):
    shop = customer_shop_get()

    assert customer_contact_for(warehouse_staff, shop)["name"] == shop.name


def test_a_customer_serialized_without_a_request_is_masked(customer):
    """A serializer nobody gave the viewer to fails closed (the ticket API passes the request)."""
    brief, full = CustomerBriefSerializer(customer).data, CustomerSerializer(customer).data

    assert (brief["name"], brief["platform_account"]) == ("王*", "小***物")
    assert (full["email"], full["phone"], full["notes"], full["pii_masked"]) == ("w***@example.com", "138****5678",
                                                                                "", True)
