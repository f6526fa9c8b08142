"""The desk speaks the shop's language or the person's own choice, not the browser's; public pages and the
API follow the visitor's Accept-Language."""

import pytest
from rest_framework.test import APIClient

from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def chinese_shop(settings):
    settings.LANGUAGE_CODE = "zh-hans"


def _lang(response) -> str:
    return response.content.decode().split('<html lang="', 1)[1].split('"', 1)[0]


def test_an_english_browser_gets_the_shops_chinese_desk_and_keeps_it(client, chinese_shop):
    client.force_login(make_user("agent"))

    first = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    again = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert (_lang(first), _lang(again)) == ("zh-hans", "zh-hans")
    assert first.cookies["django_language"].value == "zh-hans"


def test_a_person_who_chose_english_gets_it_on_any_browser(client, chinese_shop):
    agent = make_user("agent")
    client.force_login(agent)

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    agent.staff_profile.refresh_from_db()
    assert agent.staff_profile.language == "en"

    other_browser = type(client)()
    other_browser.force_login(agent)
    assert _lang(other_browser.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")) == "en"


def test_public_pages_and_the_api_follow_the_visitors_language(client, chinese_shop):
    assert _lang(client.get("/faq/", HTTP_ACCEPT_LANGUAGE="en")) == "en"

    api = APIClient()
    api.force_authenticate(make_user("agent"))
    response = api.get("/api/v1/tickets/", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "en"
