"""What a notification says, in the channel's language (ru, kk, en): the facts of an alert, read from the database
when the message is sent, and the words around them. No network here."""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.alerts.models import Alert, AlertOccurrence
from watchers.models import Detection
from watchlist.models import Person

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Impersonation Watch: new alert",
        "updated": "Impersonation Watch: alert updated",
        "test": "Impersonation Watch: a test message. This channel receives alerts.",
        "person": "Person",
        "kind": "Kind",
        "tier": "Tier",
        "channel": "Channel",
        "post": "Post",
        "distance": "Distance",
        "open": "Open the alert",
        "face_match": "face match",
        "phone_number": "phone number",
        "name_mention": "name mention",
        "lookalike_domain": "lookalike website",
        "match": "match",
        "possible": "possible, to review",
        "button_confirmed": "Impersonation",
        "button_authentic": "Authentic",
        "button_not_them": "Not them",
        "triaged": "Marked: {status}",
        "refused": "This alert is not one of this channel's organisation.",
        "confirmed_impersonation": "confirmed impersonation",
        "authentic": "authentic",
        "false_match": "not them",
        "digest_title": "Impersonation Watch: the day's alerts",
        "digest_total": "New alerts",
        "digest_people": "By person and kind",
        "digest_channels": "Top channels",
        "digest_from": "from",
        "digest_until": "until",
    },
    "ru": {
        "title": "Impersonation Watch: новое оповещение",
        "updated": "Impersonation Watch: оповещение обновлено",
        "test": "Impersonation Watch: проверочное сообщение. Этот канал получает оповещения.",
        "person": "Персона",
        "kind": "Тип",
        "tier": "Уровень",
        "channel": "Канал",
        "post": "Публикация",
        "distance": "Расстояние",
        "open": "Открыть оповещение",
        "face_match": "совпадение лица",
        "phone_number": "номер телефона",
        "name_mention": "упоминание имени",
        "lookalike_domain": "поддельный сайт",
        "match": "совпадение",
        "possible": "возможно, на проверку",
        "button_confirmed": "Подделка",
        "button_authentic": "Подлинное",
        "button_not_them": "Не он(а)",
        "triaged": "Отмечено: {status}",
        "refused": "Это оповещение не относится к организации этого канала.",
        "confirmed_impersonation": "подтверждённая подделка",
        "authentic": "подлинное",
        "false_match": "не он(а)",
        "digest_title": "Impersonation Watch: оповещения за день",
        "digest_total": "Новые оповещения",
        "digest_people": "По персонам и типам",
        "digest_channels": "Главные каналы",
        "digest_from": "с",
        "digest_until": "до",
    },
    "kk": {
        "title": "Impersonation Watch: жаңа ескерту",
        "updated": "Impersonation Watch: ескерту жаңартылды",
        "test": "Impersonation Watch: тексеру хабарламасы. Бұл арна ескертулер алады.",
        "person": "Тұлға",
        "kind": "Түрі",
        "tier": "Деңгейі",
        "channel": "Арна",
        "post": "Жарияланым",
        "distance": "Қашықтық",
        "open": "Ескертуді ашу",
        "face_match": "бет сәйкестігі",
        "phone_number": "телефон нөмірі",
        "name_mention": "есімнің аталуы",
        "lookalike_domain": "жалған сайт",
        "match": "сәйкестік",
        "possible": "мүмкін, тексеруге",
        "button_confirmed": "Жалған",
        "button_authentic": "Шынайы",
        "button_not_them": "Ол емес",
        "triaged": "Белгіленді: {status}",
        "refused": "Бұл ескерту осы арнаның ұйымына жатпайды.",
        "confirmed_impersonation": "расталған жалған",
        "authentic": "шынайы",
        "false_match": "ол емес",
        "digest_title": "Impersonation Watch: күннің ескертулері",
        "digest_total": "Жаңа ескертулер",
        "digest_people": "Тұлғалар мен түрлер бойынша",
        "digest_channels": "Негізгі арналар",
        "digest_from": "бастап",
        "digest_until": "дейін",
    },
}
BUTTONS = (
    ("button_confirmed", "confirmed_impersonation"),
    ("button_authentic", "authentic"),
    ("button_not_them", "false_match"),
)
"""The triage buttons under a Telegram message: their label and the alert status they set."""


def words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


@dataclass(frozen=True)
class AlertFacts:
    """What every notification of an alert tells: the same facts for every channel kind."""

    alert_id: uuid.UUID
    person: str
    kind: str
    tier: str
    channel: str | None
    permalink: str | None
    distance: float | None
    url: str
    crop_jpeg: bytes | None
    updated: bool


def alert_facts(session: Session, alert: Alert, public_base_url: str, updated: bool = False) -> AlertFacts:
    person = session.get(Person, alert.person_id)
    first = session.exec(
        select(AlertOccurrence)
        .where(AlertOccurrence.alert_id == alert.id)
        .order_by(col(AlertOccurrence.posted_at), col(AlertOccurrence.id))
    ).first()
    detection = session.get(Detection, alert.detection_id) if alert.detection_id else None
    distance = alert.evidence.get("best_distance") if alert.kind == "face_match" else None
    return AlertFacts(
        alert_id=alert.id,
        person=person.display_name if person else "",
        kind=alert.kind,
        tier=alert.tier,
        channel=first.channel if first else None,
        permalink=first.permalink if first else None,
        distance=float(distance) if isinstance(distance, int | float) else None,
        url=public_base_url.rstrip("/") + f"/v1/alerts/{alert.id}",
        crop_jpeg=detection.crop_jpeg if detection is not None else None,
        updated=updated,
    )


def fact_lines(facts: AlertFacts, language: str) -> list[tuple[str, str]]:
    """(label, value) pairs in the channel's language, in the order every message shows them."""
    w = words(language)
    lines = [
        (w["person"], facts.person),
        (w["kind"], w.get(facts.kind, facts.kind)),
        (w["tier"], w.get(facts.tier, facts.tier)),
    ]
    if facts.channel:
        lines.append((w["channel"], f"@{facts.channel}"))
    if facts.permalink:
        lines.append((w["post"], facts.permalink))
    if facts.distance is not None:
        lines.append((w["distance"], f"{facts.distance:.2f}"))
    return lines


def title(facts: AlertFacts, language: str) -> str:
    return words(language)["updated" if facts.updated else "title"]


def plain_text(facts: AlertFacts, language: str) -> str:
    body = [title(facts, language), ""]
    body += [f"{label}: {value}" for label, value in fact_lines(facts, language)]
    body += ["", f"{words(language)['open']}: {facts.url}"]
    return "\n".join(body)


def telegram_caption(facts: AlertFacts, language: str) -> str:
    """HTML for Telegram (its caption limit is 1024 characters, which these facts stay well under)."""
    lines = [f"<b>{html.escape(title(facts, language))}</b>"]
    lines += [f"{html.escape(label)}: {html.escape(value)}" for label, value in fact_lines(facts, language)]
    lines.append(f'<a href="{html.escape(facts.url)}">{html.escape(words(language)["open"])}</a>')
    return "\n".join(lines)[:1024]


def email_html(facts: AlertFacts, language: str, crop_cid: str | None) -> str:
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
        for label, value in fact_lines(facts, language)
    )
    image = f'<p><img src="cid:{crop_cid}" alt="face" width="160"></p>' if crop_cid else ""
    link = f'<p><a href="{html.escape(facts.url)}">{html.escape(words(language)["open"])}</a></p>'
    return f"<html><body><h2>{html.escape(title(facts, language))}</h2>{image}<table>{rows}</table>{link}</body></html>"


@dataclass(frozen=True)
class DigestFacts:
    """A channel's day: its new alerts counted by person and kind, and the channels that carried most of them."""

    start: datetime
    end: datetime
    total: int
    by_person_kind: list[tuple[str, str, int]]
    top_channels: list[tuple[str, int]]


def digest_lines(digest: DigestFacts, language: str) -> tuple[str, list[str], list[str]]:
    """The digest's heading, its person-and-kind lines and its channel lines, in the channel's language."""
    w = words(language)
    window = f"{w['digest_from']} {digest.start:%Y-%m-%d %H:%M} {w['digest_until']} {digest.end:%Y-%m-%d %H:%M} UTC"
    heading = f"{w['digest_title']} ({window}). {w['digest_total']}: {digest.total}"
    people = [f"{person}, {w.get(kind, kind)}: {count}" for person, kind, count in digest.by_person_kind]
    channels = [f"@{channel}: {count}" for channel, count in digest.top_channels]
    return heading, people, channels


def digest_text(digest: DigestFacts, language: str) -> str:
    heading, people, channels = digest_lines(digest, language)
    w = words(language)
    return "\n".join([heading, "", f"{w['digest_people']}:", *people, "", f"{w['digest_channels']}:", *channels])


def digest_telegram(digest: DigestFacts, language: str) -> str:
    heading, people, channels = digest_lines(digest, language)
    w = words(language)
    lines = [f"<b>{html.escape(heading)}</b>", "", f"<b>{html.escape(w['digest_people'])}</b>"]
    lines += [html.escape(line) for line in people]
    lines += ["", f"<b>{html.escape(w['digest_channels'])}</b>", *[html.escape(line) for line in channels]]
    return "\n".join(lines)[:4096]


def digest_html(digest: DigestFacts, language: str) -> str:
    heading, people, channels = digest_lines(digest, language)
    w = words(language)

    def items(lines: list[str]) -> str:
        return "".join(f"<li>{html.escape(line)}</li>" for line in lines)

    return (
        f"<html><body><h2>{html.escape(heading)}</h2><h3>{html.escape(w['digest_people'])}</h3><ul>{items(people)}</ul>"
        f"<h3>{html.escape(w['digest_channels'])}</h3><ul>{items(channels)}</ul></body></html>"
    )


def callback_data(alert_id: uuid.UUID, status: str) -> str:
    """A button's data (Telegram allows 64 bytes): the alert and the status it sets."""
    return f"t:{alert_id.hex}:{status}"


def parse_callback_data(data: str) -> tuple[uuid.UUID, str] | None:
    prefix, _, rest = data.partition(":")
    hex_id, _, status = rest.partition(":")
    if prefix != "t" or status not in {status for _, status in BUTTONS}:
        return None
    try:
        return uuid.UUID(hex=hex_id), status
    except ValueError:
        return None
