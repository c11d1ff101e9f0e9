"""Telegram notifications through the real python-telegram-bot, against the local Bot API stand-in: the alert
reaches the chat with its crop, the caption and the buttons; Telegram's own terms decide retries; a blocked bot
disables the channel; a button press triages the alert as the channel's organisation, and only its own alerts."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import Session, select

from app.auth.models import AuditEvent
from app.notifications.jobs import ButtonPresses, NotificationDispatcher
from app.notifications.messages import callback_data
from app.runtime import Runtime
from tests.app.notifications.bot_api import BotApi
from tests.app.notifications.builders import (
    PRESS_CHAT,
    add_telegram_channel,
    alert,
    attempts_of,
    channel,
    deliveries_of,
    dispatch_until,
)
from tests.app.webhooks.builders import PUBLIC_BASE_URL, add_person, raise_alert
from tests.support import wait_for


def test_an_alert_reaches_the_chat_with_its_crop_caption_and_buttons(
    runtime: Runtime, bot_api: BotApi, dispatcher: NotificationDispatcher
) -> None:
    subscribed = add_telegram_channel(runtime, language="en")
    person = add_person(runtime)

    raised = raise_alert(runtime, person, channel="fake_news_kz")
    [owed] = deliveries_of(runtime, subscribed.id)
    assert (owed.alert_id, owed.event, owed.status) == (raised.id, "alert.created", "pending")
    dispatch_until(dispatcher, lambda: bot_api.sent_by("sendPhoto"), "the photo to be sent")

    [photo] = bot_api.sent_by("sendPhoto")
    assert photo.chat_id == PRESS_CHAT
    assert photo.files["photo"] == b"\xff\xd8\xff crop"
    caption = photo.params["caption"]
    for fact in ("Barack Obama", "face match", "match", "@fake_news_kz", "https://t.me/fake_news_kz/", "0.31"):
        assert fact in caption
    assert f'href="{PUBLIC_BASE_URL}/v1/alerts/{raised.id}"' in caption
    [[confirmed, authentic, not_them]] = photo.reply_markup["inline_keyboard"]
    assert (confirmed["text"], authentic["text"], not_them["text"]) == ("Impersonation", "Authentic", "Not them")
    assert confirmed["callback_data"] == callback_data(raised.id, "confirmed_impersonation")
    [delivered] = deliveries_of(runtime, subscribed.id)
    assert delivered.status == "delivered" and delivered.external_id == f"{PRESS_CHAT}:100"
    assert [attempt.outcome for attempt in attempts_of(runtime, delivered.id)] == ["delivered"]


def test_the_caption_speaks_the_channel_language(
    runtime: Runtime, bot_api: BotApi, dispatcher: NotificationDispatcher
) -> None:
    add_telegram_channel(runtime, chat_id=1, language="ru")
    add_telegram_channel(runtime, chat_id=2, language="kk")
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: len(bot_api.sent_by("sendPhoto")) == 2, "both photos")

    by_chat = {sent.chat_id: sent for sent in bot_api.sent_by("sendPhoto")}
    assert "Персона: Barack Obama" in by_chat[1].params["caption"]
    assert "совпадение лица" in by_chat[1].params["caption"]
    assert "Тұлға: Barack Obama" in by_chat[2].params["caption"]
    assert by_chat[2].reply_markup["inline_keyboard"][0][0]["text"] == "Жалған"


def test_subscriptions_filter_by_person_kind_and_tier(runtime: Runtime) -> None:
    obama, other = add_person(runtime), add_person(runtime, "Aigerim Nurtileu")
    only_obama = add_telegram_channel(runtime, chat_id=1, person_ids=[obama.id])
    only_phones = add_telegram_channel(runtime, chat_id=2, kinds=["phone_number"])
    only_possible = add_telegram_channel(runtime, chat_id=3, tiers=["possible"])
    everything = add_telegram_channel(runtime, chat_id=4)

    raise_alert(runtime, obama, media="a")
    raise_alert(runtime, other, media="b")

    assert len(deliveries_of(runtime, only_obama.id)) == 1
    assert deliveries_of(runtime, only_phones.id) == deliveries_of(runtime, only_possible.id) == []
    assert len(deliveries_of(runtime, everything.id)) == 2


def test_a_repost_is_not_messaged_again(runtime: Runtime) -> None:
    subscribed = add_telegram_channel(runtime)
    person = add_person(runtime)

    raise_alert(runtime, person, media="same", channel="first")
    raise_alert(runtime, person, media="same", channel="second")

    assert len(deliveries_of(runtime, subscribed.id)) == 1


def test_a_429_waits_telegrams_retry_after_and_then_delivers(
    runtime: Runtime, bot_api: BotApi, dispatcher: NotificationDispatcher
) -> None:
    subscribed = add_telegram_channel(runtime)
    bot_api.fail("sendPhoto", 429, "Too Many Requests: retry after 1", retry_after=1)
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: deliveries_of(runtime, subscribed.id)[0].attempts == 1, "the first attempt")
    [waiting] = deliveries_of(runtime, subscribed.id)
    [first] = attempts_of(runtime, waiting.id)
    assert waiting.status == "pending" and first.outcome == "retry" and "Flood control" in (first.error or "")
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at - first.attempted_at >= timedelta(seconds=1)  # not the schedule's 0.05 s

    dispatch_until(dispatcher, lambda: deliveries_of(runtime, subscribed.id)[0].status == "delivered", "the retry")
    assert [attempt.outcome for attempt in attempts_of(runtime, waiting.id)] == ["retry", "delivered"]
    assert len(bot_api.sent_by("sendPhoto")) == 1


def test_a_blocked_bot_disables_the_channel_with_the_reason_and_enabling_sends_what_is_owed(
    runtime: Runtime, bot_api: BotApi, dispatcher: NotificationDispatcher, api: httpx.Client
) -> None:
    subscribed = add_telegram_channel(runtime)
    bot_api.blocked_chats.add(PRESS_CHAT)
    person = add_person(runtime)
    raise_alert(runtime, person, media="first")

    dispatch_until(dispatcher, lambda: not channel(runtime, subscribed.id).enabled, "the channel to be disabled")
    gone = channel(runtime, subscribed.id)
    assert "bot was blocked by the user" in (gone.disabled_reason or "")
    [owed] = deliveries_of(runtime, subscribed.id)
    assert owed.status == "pending" and attempts_of(runtime, owed.id)[0].outcome == "gone"
    raise_alert(runtime, person, media="second")
    assert len(deliveries_of(runtime, subscribed.id)) == 1  # nothing new is queued for a channel that is gone

    bot_api.blocked_chats.clear()
    enabled = api.patch(f"/v1/notifications/channels/{subscribed.id}", json={"enabled": True})
    assert enabled.status_code == 200 and enabled.json()["disabled_reason"] is None
    dispatch_until(dispatcher, lambda: deliveries_of(runtime, subscribed.id)[0].status == "delivered", "what it owed")


def test_a_chat_that_is_not_found_disables_the_channel(
    runtime: Runtime, bot_api: BotApi, dispatcher: NotificationDispatcher
) -> None:
    subscribed = add_telegram_channel(runtime)
    bot_api.fail("sendPhoto", 400, "Bad Request: chat not found")
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: not channel(runtime, subscribed.id).enabled, "the channel to be disabled")
    assert "chat not found" in (channel(runtime, subscribed.id).disabled_reason or "").lower()


def test_another_refusal_is_dead_at_once(runtime: Runtime, bot_api: BotApi, dispatcher: NotificationDispatcher) -> None:
    subscribed = add_telegram_channel(runtime)
    bot_api.fail("sendPhoto", 400, "Bad Request: can't parse entities")
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: deliveries_of(runtime, subscribed.id)[0].status == "dead", "the delivery dead")
    assert channel(runtime, subscribed.id).enabled


def test_a_button_press_triages_the_alert_as_the_channels_organisation(
    runtime: Runtime, bot_api: BotApi, dispatcher: NotificationDispatcher, presses: ButtonPresses
) -> None:
    add_telegram_channel(runtime, language="en")
    raised = raise_alert(runtime, add_person(runtime))
    dispatch_until(dispatcher, lambda: bot_api.sent_by("sendPhoto"), "the photo")
    [photo] = bot_api.sent_by("sendPhoto")
    button = photo.reply_markup["inline_keyboard"][0][0]["callback_data"]

    bot_api.press_button(PRESS_CHAT, button)
    wait_for(lambda: presses.run(), what="the press to be handled")

    assert alert(runtime, raised.id).status == "confirmed_impersonation"
    [answer] = bot_api.sent_by("answerCallbackQuery")
    assert answer.params["text"] == "Marked: confirmed impersonation"
    with Session(runtime.db_engine) as session:
        [audit] = session.exec(select(AuditEvent).where(AuditEvent.action == "alert.triaged")).all()
    assert (audit.object_id, audit.actor_role) == (str(raised.id), "telegram_button")
    assert presses.run() == 0  # the press was confirmed to Telegram (offset), never handled twice


def test_a_button_of_another_organisations_alert_is_refused(
    runtime: Runtime, bot_api: BotApi, presses: ButtonPresses
) -> None:
    add_telegram_channel(runtime, language="en")
    theirs = raise_alert(runtime, add_person(runtime, "Someone Else", organization="Other press office"))

    bot_api.press_button(PRESS_CHAT, callback_data(theirs.id, "authentic"))
    wait_for(lambda: presses.run(), what="the press to be handled")

    assert alert(runtime, theirs.id).status == "new"
    [answer] = bot_api.sent_by("answerCallbackQuery")
    assert answer.params["text"] == "This alert is not one of this channel's organisation."


def test_a_button_pressed_in_a_chat_no_channel_posts_to_is_refused(
    runtime: Runtime, bot_api: BotApi, presses: ButtonPresses
) -> None:
    add_telegram_channel(runtime)
    raised = raise_alert(runtime, add_person(runtime))

    bot_api.press_button(999, callback_data(raised.id, "false_match"))
    wait_for(lambda: presses.run(), what="the press to be handled")

    assert alert(runtime, raised.id).status == "new"
