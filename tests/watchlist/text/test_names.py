"""Name mentions: a full name across Kazakh Cyrillic, Russian Cyrillic and Latin, with case endings and small
misspellings; a given name alone, or the names of two different people, say nothing."""

from __future__ import annotations

import uuid

import pytest

from watchlist.text import PersonIdentifiers, PostText, TextHit, TextWatchlist

JOURNALIST = uuid.UUID("00000000-0000-0000-0000-000000000001")
MINISTER = uuid.UUID("00000000-0000-0000-0000-000000000002")
AKIM = uuid.UUID("00000000-0000-0000-0000-000000000003")
ANCHOR = uuid.UUID("00000000-0000-0000-0000-000000000004")


@pytest.fixture(scope="module")
def watchlist() -> TextWatchlist:
    return TextWatchlist(
        [
            PersonIdentifiers(JOURNALIST, ["Нұртілеу Иманғали", "Нуртлеу Имангали"]),
            PersonIdentifiers(MINISTER, ["Асель Тоқаева"], distinctive_names=["Тоқаева"]),
            PersonIdentifiers(AKIM, ["Ерлан Сейтқали"]),
            PersonIdentifiers(ANCHOR, ["Әлия Бекмұхамедова"], distinctive_names=["Алия Бек"]),
        ]
    )


def names(hits: list[TextHit]) -> list[tuple[uuid.UUID, str]]:
    return [(hit.person_id, hit.matched_text) for hit in hits if hit.kind == "name_mention"]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("Журналист Нұртілеу Иманғали шеруге шақырады!", "Нұртілеу Иманғали"),
        ("Известный журналист Нуртлеу Имангали призвал всех выйти на площадь", "Нуртлеу Имангали"),
        ("Breaking: journalist Nurtileu Imangali calls for protest", "Nurtileu Imangali"),
        ("Kazakh journalist Nurtleu Imangaly speaks out", "Nurtleu Imangaly"),
        ("Иманғали Нұртілеудің үндеуі: бәріміз алаңға шығайық", "Иманғали Нұртілеудің"),
        ("Видео обращение Нуртлеуа Имангали разошлось по чатам", "Нуртлеуа Имангали"),
        ("Бұл Нуртлеуым Иманғалидің жазбасы", "Нуртлеуым Иманғалидің"),
        ("Интервью с Имангали, журналистом Нуртлеу", "Имангали, журналистом Нуртлеу"),
        ("Обращение Нуртилеу Имангалиева (misspelt) к молодёжи", None),
        ("Обращение Нуртлеу Имангалли к молодёжи", "Нуртлеу Имангалли"),
        ("НУPТЛEУ ИМAНГАЛИ: выходите все!", "НУPТЛEУ ИМAНГАЛИ"),  # Latin P, E and A among Cyrillic letters
    ],
)
def test_a_full_name_in_any_script_and_case(watchlist: TextWatchlist, text: str, written: str | None) -> None:
    hits = watchlist.find(PostText(text=text))
    if written is None:  # an added surname ending is another surname
        assert names(hits) == []
        return
    [hit] = hits
    assert (hit.person_id, hit.kind, hit.matched_text, text[hit.start : hit.end]) == (
        JOURNALIST,
        "name_mention",
        written,
        written,
    )
    assert hit.subject in {"Нұртілеу Иманғали", "Нуртлеу Имангали"}
    assert 0.8 <= float(hit.detail["score"]) <= 1.0


def test_russian_case_endings_of_a_name_ending_in_a_vowel(watchlist: TextWatchlist) -> None:
    for text in [
        "Министр Асель Тоқаева выступила с заявлением",
        "Заявление министра Асели Токаевой оказалось фейком",
        "Фейковое видео с Асель Токаевой распространяют в WhatsApp",
        "Minister Assel Tokayeva denied the video",
    ]:
        assert [person for person, _ in names(watchlist.find(PostText(text=text)))] == [MINISTER], text


def test_a_distinctive_name_alone_is_enough(watchlist: TextWatchlist) -> None:
    text = "Тоқаеваның мәлімдемесі жалған болып шықты"
    assert names(watchlist.find(PostText(text=text))) == [(MINISTER, "Тоқаеваның")]
    assert names(watchlist.find(PostText(text="Интервью с министром Токаевой"))) == [(MINISTER, "Токаевой")]
    assert names(watchlist.find(PostText(text="Ведущая Алия Бек в эфире"))) == [(ANCHOR, "Алия Бек")]


@pytest.mark.parametrize(
    "text",
    [
        "Ерлан сегодня не пришёл на работу, Асель тоже",
        "Құрметті Ерлан! Сізді туған күніңізбен құттықтаймыз",
        "Асель, Нуртлеу и Ерлан поедут в Астану",
        "Ерлан Нұртілеуов и Асель Сейтқалиева: свадьба года",  # parts of different people's names
        "Сейтқали ауданында жаңа мектеп ашылды",  # a surname alone
        "Иманғали мен Ерлан кездесті",
        "Президент Тоқаев подписал указ",  # the masculine surname is not her distinctive Тоқаева
        "Встреча с Токаевым прошла в Акорде",
    ],
)
def test_a_given_name_alone_or_names_of_different_people_are_silent(watchlist: TextWatchlist, text: str) -> None:
    assert names(watchlist.find(PostText(text=text))) == []


def test_short_names_allow_fewer_misspellings() -> None:
    person = uuid.uuid4()
    watchlist = TextWatchlist([PersonIdentifiers(person, ["Ли Ван"]), PersonIdentifiers(uuid.uuid4(), ["Дана Оспан"])])
    assert names(watchlist.find(PostText(text="Ли Ван приехал"))) == [(person, "Ли Ван")]
    assert names(watchlist.find(PostText(text="Ли Вон приехал"))) == []  # 1 edit in a 3-letter word
    assert names(watchlist.find(PostText(text="Дина Оспан приехала"))) == []  # 1 edit in a 4-letter word
    assert [hit.matched_text for hit in watchlist.find(PostText(text="Дана Оспанн приехала"))] == ["Дана Оспанн"]


def test_far_apart_parts_are_not_a_mention(watchlist: TextWatchlist) -> None:
    text = "Ерлан вчера весь день провёл в дороге из Шымкента, а Сейтқали остался дома"
    assert names(watchlist.find(PostText(text=text))) == []


def test_one_hit_per_person_and_place_even_with_several_matching_names(watchlist: TextWatchlist) -> None:
    text = "Нуртлеу Имангали и снова Нұртілеу Иманғали"
    hits = watchlist.find(PostText(text=text))
    assert [(hit.matched_text, hit.start) for hit in hits] == [("Нуртлеу Имангали", 0), ("Нұртілеу Иманғали", 25)]


def test_names_in_the_link_preview(watchlist: TextWatchlist) -> None:
    post = PostText(text="Смотрите!", preview="Orda.kz\nНұртілеу Иманғали: «Бәріміз алаңға!»\nЭксклюзив")
    [hit] = watchlist.find(post)
    assert (hit.where, post.preview[hit.start : hit.end]) == ("preview", "Нұртілеу Иманғали")
