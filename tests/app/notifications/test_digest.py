"""The optional daily digest of a channel: at its hour (UTC), the day's new alerts by person and kind and the
channels that carried most of them, once a day, in the channel's language, through the same outbox."""

from __future__ import annotations

from datetime import timedelta

from app.notifications.jobs import DailyDigests, NotificationDispatcher
from app.runtime import Runtime
from core.clock import utcnow
from tests.app.notifications.bot_api import BotApi
from tests.app.notifications.builders import add_telegram_channel, deliveries_of, dispatch_until
from tests.app.webhooks.builders import add_person, raise_alert


def test_the_days_alerts_arrive_once_as_a_digest_at_its_hour(
    runtime: Runtime, bot_api: BotApi, dispatcher: NotificationDispatcher
) -> None:
    tomorrow = utcnow() + timedelta(days=1)
    digest = add_telegram_channel(runtime, chat_id=5, language="en", digest_hour=tomorrow.hour)
    obama, other = add_person(runtime), add_person(runtime, "Aigerim Nurtileu")
    raise_alert(runtime, obama, media="a", channel="fake_news_kz")
    raise_alert(runtime, obama, media="a", channel="repost_kz")
    raise_alert(runtime, obama, media="b", channel="fake_news_kz")
    raise_alert(runtime, other, media="c", channel="other_kz")
    digests = DailyDigests(runtime.db_engine, clock=lambda: tomorrow)

    assert digests.run() == 1
    assert digests.run() == 0  # once a day
    dispatch_until(
        dispatcher,
        lambda: (
            [d for d in deliveries_of(runtime, digest.id) if d.event == "digest.daily"]
            and bot_api.sent_by("sendMessage")
        ),
        "the digest",
    )

    [message] = bot_api.sent_by("sendMessage")
    text = message.params["text"]
    assert "New alerts: 3" in text
    assert "Barack Obama, face match: 2" in text and "Aigerim Nurtileu, face match: 1" in text
    assert text.index("@fake_news_kz: 2") < text.index("@other_kz: 1")
    [owed] = [d for d in deliveries_of(runtime, digest.id) if d.event == "digest.daily"]
    assert owed.window_end is not None and owed.window_end.hour == tomorrow.hour


def test_a_day_without_alerts_sends_no_digest(runtime: Runtime) -> None:
    tomorrow = utcnow() + timedelta(days=1)
    quiet = add_telegram_channel(runtime, digest_hour=tomorrow.hour)

    assert DailyDigests(runtime.db_engine, clock=lambda: tomorrow).run() == 0
    assert deliveries_of(runtime, quiet.id) == []
