import pytest

from tickets.mail.parse import MailUnreadable, mail_id_of, mail_parse, strip_quoted

from .conftest import mail_bytes


def test_gbk_body_declared_gb2312_and_encoded_headers_are_decoded():
    mail = mail_parse(mail_bytes("gbk_body.eml"))
    assert mail.from_address == "Wang.Xiao@Example.COM"
    assert mail.from_name == "王小明"
    assert mail.subject == "退货申请：鞋子尺码不符"
    assert mail.text == "您好，我买的鞋子尺码不符，想退货。镕"  # 镕 exists in GBK only: read as GB18030
    assert mail.message_id == "<gbk-1@example.com>"


def test_gb18030_base64_body_with_a_four_byte_character():
    mail = mail_parse(mail_bytes("gb18030_body.eml"))
    assert mail.subject == "发票问题"
    assert mail.text == "请开发票 𠀀 谢谢"


def test_multipart_attachment_with_an_encoded_word_filename():
    mail = mail_parse(mail_bytes("attachment_encoded_name.eml"))
    assert mail.from_name == "赵六"
    assert mail.subject == "照片 photo"
    assert mail.text == "破损的照片见附件"
    assert [(a.name, a.content_type) for a in mail.attachments] == [
        ("破损照片.jpg", "image/jpeg"), ("setup.exe", "application/x-msdownload")]
    assert mail.attachments[0].content.startswith(b"\xff\xd8\xff")


def test_html_only_mail_gives_its_text_without_styles_or_scripts():
    mail = mail_parse(mail_bytes("html_only.eml"))
    assert "屏幕\xa0不亮了" in mail.text or "屏幕 不亮了" in mail.text
    assert "Order 123" in mail.text
    assert "alert" not in mail.text and "color" not in mail.text


def test_malformed_mime_is_read_as_far_as_it_goes():
    mail = mail_parse(mail_bytes("malformed.eml"))
    assert mail.from_address == "broken@example.com"
    assert mail.subject == "broken"
    assert mail.defects  # the broken structure is noted


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\r\n\r\nonly a body"])
def test_nothing_to_read_is_refused_with_a_reason(raw):
    with pytest.raises(MailUnreadable):
        mail_parse(raw)


def test_mail_without_sender_has_no_address():
    assert mail_parse(mail_bytes("no_sender.eml")).from_address == ""


@pytest.mark.parametrize("name", ["auto_reply.eml", "out_of_office.eml"])
def test_auto_replies_are_recognised(name):
    mail = mail_parse(mail_bytes(name))
    assert mail.auto_reply and not mail.bounce


def test_ordinary_mail_is_not_an_auto_reply():
    assert not mail_parse(mail_bytes("gbk_body.eml")).auto_reply


def test_bounce_report_names_our_mail_and_why():
    mail = mail_parse(mail_bytes("bounce_dsn.eml", sent_id="<abc@shop.test>"))
    assert mail.bounce and mail.bounce_failed
    assert mail.bounced_message_ids == ["<abc@shop.test>"]
    assert "550 5.1.1 user unknown" in mail.bounce_reason and "gone@example.com" in mail.bounce_reason


def test_empty_return_path_is_a_bounce():
    mail = mail_parse(b"Return-Path: <>\r\nFrom: robot@example.com\r\nSubject: failure\r\n\r\nx\r\n")
    assert mail.bounce


def test_quoted_chinese_history_is_cut_and_the_full_text_kept():
    mail = mail_parse(mail_bytes("reply_zh.eml", sent_id="<k@shop.test>"))
    assert mail.reply_text == "好的，我明天寄回。"
    assert "请把鞋子寄回" in mail.text
    assert mail.thread_ids == ["<k@shop.test>", "<first@example.com>"]


def test_quoted_english_history_is_cut():
    mail = mail_parse(mail_bytes("reply_en.eml", number="AS00000001"))
    assert mail.reply_text == "I sent it back today."


def test_qq_style_original_mail_separator_is_cut():
    text = "收到了\n\n------------------ 原始邮件 ------------------\n发件人: 客服\n请确认"
    assert strip_quoted(text) == "收到了"


def test_a_mail_without_message_id_is_keyed_by_its_bytes():
    assert mail_id_of(b"abc", "") == mail_id_of(b"abc", "")
    assert mail_id_of(b"abc", "").startswith("sha256:")
    assert mail_id_of(b"abc", "<x@y>") == "<x@y>"
