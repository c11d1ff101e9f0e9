"""The one Telegram username rule: what names a public channel, and why anything else is refused."""

import pytest

from core.telegram import bare_username, channel_username, is_username, username_as_written


@pytest.mark.parametrize(
    "reference",
    [
        "press_office",
        "@press_office",
        "  @press_office  ",
        "t.me/press_office",
        "https://t.me/press_office",
        "https://t.me/s/press_office",
        "https://t.me/s/press_office/",
        "https://www.t.me/press_office",
        "http://telegram.me/press_office?before=20",
        "https://telegram.dog/press_office",
        "https://t.me/press_office/1234",
        "t.me/s/press_office/1234#top",
    ],
)
def test_a_channel_is_named_by_its_username_or_a_link(reference: str) -> None:
    assert channel_username(reference) == "press_office"


def test_the_username_is_lower_cased_unless_asked_as_written() -> None:
    assert channel_username("https://t.me/s/Press_Office") == "press_office"
    assert username_as_written("https://t.me/s/Press_Office") == "Press_Office"


@pytest.mark.parametrize(
    "name",
    ["abcde", "a" * 32, "Ab_1_c", "durov", "x1234"],
)
def test_telegrams_rule_accepts_five_to_32_characters_starting_with_a_letter(name: str) -> None:
    assert is_username(name)
    assert channel_username(name) == name.lower()


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "@",
        "abcd",
        "a" * 33,
        "1channel",
        "_channel",
        "trailing_",
        "press office",
        "press-office",
        "пресс_служба",
        "t.me/",
        "https://example.com/press_office",
        "https://t.me/press_office/not-a-post",
        "press_office@example.org",
    ],
)
def test_anything_else_is_refused_saying_what_is_accepted(reference: str) -> None:
    with pytest.raises(ValueError, match="not a public channel username") as refused:
        channel_username(reference)
    assert "is not a Telegram channel" in str(refused.value)
    assert "5-32 letters, digits or underscores, starting with a letter" in str(refused.value)


@pytest.mark.parametrize(
    "link", ["https://t.me/+AbCdEf123456", "t.me/joinchat/AAAAAE", "HTTPS://T.ME/+abc", "telegram.me/joinchat/x"]
)
def test_an_invite_link_is_refused_as_such(link: str) -> None:
    with pytest.raises(ValueError, match="is an invite link") as refused:
        channel_username(link)
    assert "only public channels can be watched" in str(refused.value)


def test_a_bare_username_takes_no_link() -> None:
    assert bare_username(" @Kazinform_Test ") == "kazinform_test"
    for value in ("https://t.me/kazinform_test", "abcd", "", "@"):
        with pytest.raises(ValueError, match="not a public Telegram username"):
            bare_username(value)
