"""Which channels a post points to."""

from __future__ import annotations

from watchers.channels.extract import Pointer, pointers


def test_forward_links_and_mentions_are_found_once_each_and_the_own_channel_left_out() -> None:
    text = (
        "Срочно! Подробности: https://t.me/real_source_kz/1044 и t.me/s/Mirror_Channel, "
        "пишите @Organiser_Bot или @real_source_kz. Наш канал: @kz_news_fake, join t.me/joinchat/AAAA, "
        "t.me/+InviteCode, mail a.b@example.com, t.me/addstickers/Pack"
    )

    found = pointers(text, "Ministry Official", "ministry_official", "kz_news_fake")

    assert found == [
        Pointer("forward", "ministry_official", "Ministry Official"),
        Pointer("link", "real_source_kz"),
        Pointer("link", "mirror_channel"),
        Pointer("mention", "organiser_bot"),
    ]


def test_a_telethon_forward_gives_its_username_and_a_hidden_sender_nothing() -> None:
    assert pointers("", "Ministry of Defence (@real_ministry)", None, "x_channel") == [
        Pointer("forward", "real_ministry", "Ministry of Defence")
    ]
    assert pointers("", "a hidden sender", None, "x_channel") == []
    assert pointers("", "user id 42", None, "x_channel") == []
    assert pointers("", "Fake Ministry News", None, "x_channel") == [Pointer("forward", None, "Fake Ministry News")]
