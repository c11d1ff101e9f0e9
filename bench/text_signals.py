"""Benchmark: text signals (`watchlist.text.TextWatchlist.find`) against a plain loop of regular expressions.

A watchlist of `--people` (1,000) generated people: a Kazakh or Russian given name and surname in Cyrillic, the
same name in Latin as an alias, a mobile number and, for most, a site of their own. `--posts` (10,000) generated
posts in Russian, Kazakh and Latin script, each a few sentences of channel news, and in some of them a watched
person's name (in another script or with a case ending), their number (in one of the usual formats), a lookalike
of their site, or the things that must stay silent (another person's number, an IIN, a date, an amount, a card
number, a given name alone, an unrelated link).

Timed, per post, in one process, the two alternating for `--repeats` (5) rounds:

- **find**: `TextWatchlist.find(PostText(text=...))`. Each round builds a fresh watchlist first (not timed, its
  build time is printed), so the first post of each word pays for it as after a restart; the caches then fill.
- **plain regex**: the baseline. Three precompiled alternations, one per signal: every enrolled name as written
  (either alias, case-insensitive), every enrolled number as its ten national digits with optional separators
  and an optional +7/8 prefix, every own domain as written; `finditer` of each over the post. It finds only exact
  spellings: no other script, no case ending, no misspelling, no lookalike, no span check of the phone number.

Printed: the median and p99 wall time per post of each (over every post of every round), the mean per post
(median of the rounds), the median and p99 CPU time of the process per post (on a busy machine the wall p99 is
mostly waiting for a core), the ratio find / plain of the medians, and what was found: how many of the planted
signals `find` reported, and how many other (person, kind) pairs (a name two generated people share, the
lookalike of one generated outlet that also resembles another).

    .venv/bin/python bench/text_signals.py [--people N] [--posts N] [--repeats N] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from watchlist.text import PersonIdentifiers, PostText, TextWatchlist


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN = words(
    "Ерлан Асель Нұртілеу Айгерім Дәурен Гүлнар Сәуле Бауыржан Жанар Мұрат Әлия Айдос Ерболат Динара Самал Қайрат "
    "Мадина Азамат Жанна Нұрлан Ботагөз Ғалымжан Әсем Тимур Аружан Дархан Жансая Серік Гүлмира Арман Індира Рустем "
    "Дина Марат Ольга Сергей Андрей Елена Наталья Дмитрий"
)
SURNAME_ROOTS = words(
    "Иманғали Тоқа Сәрсен Жұмаба Бекмұхамед Ахмет Нұрпейіс Оспан Сейтқали Қасым Әбен Байжан Дүйсен Есім Мұхтар "
    "Омар Қуаныш Төлеген Жақсылық Бейсен Ержан Смағұл Мамыт Әли Құдайберген Исаба Серікба Шәкен Өмірзақ Рысқұл "
    "Тұрсын Қожахмет Әуез Бақыт Иван Петр Смирн Кузнец Соколов Попов"
)
LATIN = str.maketrans(
    {
        "ә": "a", "ғ": "g", "қ": "q", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
        "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "",
        "э": "e", "ю": "yu", "я": "ya",
    }
)  # fmt: skip
RUSSIAN = (
    "Сегодня в Алматы прошло заседание маслихата, обсуждали тарифы на коммунальные услуги.",
    "Синоптики обещают похолодание до минус пятнадцати градусов на выходных.",
    "Жители микрорайона жалуются на отсутствие горячей воды уже третью неделю.",
    "В Астане открылся новый центр обслуживания населения.",
    "Пресс-служба акимата опровергла слухи о повышении цен на проезд.",
    "Полиция предупреждает о мошенниках, которые звонят от имени банков.",
    "Напоминаем, что приём заявлений на льготы продлится до конца месяца.",
    "Видео с места происшествия публикуют очевидцы.",
    "Эксперты считают, что курс тенге стабилизируется к лету.",
    "Подписывайтесь на наш канал, чтобы не пропустить главное.",
    "Министерство здравоохранения сообщило о росте заболеваемости гриппом.",
    "На трассе Алматы - Бишкек ограничено движение из-за снегопада.",
)
KAZAKH = (
    "Бүгін Астанада жаңа мектеп ашылды, оған мыңнан астам оқушы барады.",
    "Ауа райы: ертең күн суытып, қар жауады деп күтілуде.",
    "Әкімдік тұрғындарды коммуналдық төлемдерді уақытында төлеуге шақырады.",
    "Полиция алаяқтардан сақ болуды ескертеді.",
    "Жиналыс сағат онда басталады, барлығыңызды күтеміз.",
    "Арнамызға жазылыңыз, ең маңызды жаңалықтар осында.",
    "Денсаулық сақтау министрлігі тұмаумен ауыратындар көбейгенін хабарлады.",
    "Шымкентте жол жөндеу жұмыстары жалғасуда.",
)
LATIN_TEXT = (
    "Breaking news from Almaty: the city council discussed new tariffs.",
    "Bugin Astanada zhana mektep ashyldy.",
    "Follow our channel for the latest updates from Kazakhstan.",
)
UNRELATED_LINKS = ("https://t.me/tengrinews", "youtube.com/watch?v=abc", "https://www.gov.kz/memleket", "zakon.kz")
NOISE = ("ИИН 900101300123", "12.03.2024", "2024-03-12", "1 500 000 тенге", "карта 4400 4302 1234 5678")
NUMBER_FORMATS: tuple[Callable[[str], str], ...] = (
    lambda n: f"+7 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}",
    lambda n: f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"8{n}",
    lambda n: f"+7-{n[:3]}-{n[3:6]}-{n[6:]}",
    lambda n: f"8.{n[:3]}.{n[3:6]}.{n[6:8]}.{n[8:]}",
)
ENDINGS = ("", "", "", "дың", "ға", "а", "у", "ом", "ның", "ке")


@dataclass(frozen=True)
class Person:
    identifiers: PersonIdentifiers
    given: str
    surname: str
    national: str  # ten digits
    site: str | None  # registrable domain of their own site


SYLLABLES = words("ar tan bek zhol sai kar men tur as ul dala tau nur ai kok su ken ot bas zhe tal ord bir qy")


def outlet_name(rng: random.Random) -> str:
    """A made-up outlet name such as `zholsaitau` or `nurken-news`: syllables, now and then a word."""
    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
    return name + rng.choice(("", "", "", "news", "kz", "-info", "media"))


def generate_people(count: int, rng: random.Random) -> list[Person]:
    people: list[Person] = []
    seen: set[tuple[str, str]] = set()
    labels: set[str] = set()
    while len(people) < count:
        given = rng.choice(GIVEN)
        root = rng.choice(SURNAME_ROOTS)
        surname = root + rng.choice(("ев", "ов", "ұлы", "ова", "ева", "")) if not root.endswith("ов") else root
        if (given, surname) in seen:
            continue
        seen.add((given, surname))
        national = "7" + rng.choice(("01", "02", "05", "07", "08", "47", "77", "75")) + f"{rng.randrange(10**7):07d}"
        label = outlet_name(rng)
        while label in labels:  # every outlet its own name
            label = outlet_name(rng)
        labels.add(label)
        site = f"{label}.{rng.choice(('kz', 'com', 'kz', 'media'))}" if rng.random() < 0.8 else None
        latin = f"{given.lower().translate(LATIN).capitalize()} {surname.lower().translate(LATIN).capitalize()}"
        identifiers = PersonIdentifiers(
            uuid.UUID(int=rng.getrandbits(128)),
            [f"{given} {surname}", latin],
            phone_numbers=[f"+7{national}"],
            websites=[f"https://{site}"] if site else [],
        )
        people.append(Person(identifiers, given, surname, national, site))
    return people


@dataclass(frozen=True)
class Post:
    text: str
    planted: frozenset[tuple[uuid.UUID, str]]  # (person, kind) of the signals written into it


def generate_post(people: Sequence[Person], rng: random.Random) -> Post:
    pool = rng.choice((RUSSIAN, RUSSIAN, KAZAKH, LATIN_TEXT))
    sentences = rng.sample(pool, k=min(len(pool), rng.randint(2, 5)))
    person = rng.choice(people)
    planted = set()
    roll = rng.random()
    if roll < 0.10:
        planted.add((person.identifiers.person_id, "name_mention"))
        written = rng.choice(
            (f"{person.given} {person.surname}", f"{person.surname} {person.given}", person.identifiers.names[1])
        )
        sentences.insert(rng.randrange(len(sentences) + 1), f"Заявление {written}{rng.choice(ENDINGS)} вызвало споры.")
    if 0.10 <= roll < 0.15 or rng.random() < 0.03:
        planted.add((person.identifiers.person_id, "phone_number"))
        sentences.append(f"Звоните: {rng.choice(NUMBER_FORMATS)(person.national)}")
    if 0.15 <= roll < 0.25:  # somebody else's number
        sentences.append(f"Справки по тел. 8 7{rng.randrange(10**9):09d}")
    if 0.25 <= roll < 0.32 and person.site:
        planted.add((person.identifiers.person_id, "lookalike_domain"))
        label = person.site.split(".")[0]
        fake = rng.choice((f"{label}-news.kz", f"{label}.ru", f"www.{label}.com.kz", f"{person.site}.news-24.ru"))
        sentences.append(f"Подробнее: https://{fake}/{rng.randrange(10**5)}")
    if 0.32 <= roll < 0.45:
        sentences.append(rng.choice(NOISE))
    if 0.45 <= roll < 0.55:
        sentences.append(f"{rng.choice(GIVEN)} рассказал подробности: {rng.choice(UNRELATED_LINKS)}")
    return Post(" ".join(sentences), frozenset(planted))


def plain_regexes(people: Sequence[Person]) -> list[re.Pattern[str]]:
    """One alternation per signal, longest first, over the lower-cased post (cheaper than `re.IGNORECASE`)."""
    names = {re.escape(name.lower()) for person in people for name in person.identifiers.names}
    separator = r"[\s().\-]*"
    numbers = {separator.join(person.national) for person in people}
    domains = {re.escape(person.site) for person in people if person.site}
    return [
        re.compile("|".join(sorted(names, key=len, reverse=True))),
        re.compile(r"(?:\+7|8)?" + separator + "(?:" + "|".join(sorted(numbers)) + ")"),
        re.compile("|".join(sorted(domains, key=len, reverse=True))),
    ]


def checked(watchlist: TextWatchlist, posts: Sequence[Post]) -> tuple[int, int, int]:
    """Signals planted, those found, and (person, kind) pairs found that were not planted (such as a name
    two generated people share, or somebody else's number that is an enrolled one)."""
    planted = found = others = 0
    for post in posts:
        hits = {(hit.person_id, hit.kind) for hit in watchlist.find(PostText(text=post.text))}
        planted += len(post.planted)
        found += len(post.planted & hits)
        others += len(hits - post.planted)
    return planted, found, others


@dataclass
class Timings:
    wall: list[float]  # seconds per post, every post of every round
    cpu: list[float]  # this process's CPU time per post: what the work costs, whatever else the machine runs
    round_means: list[float]  # wall time per post, one mean per round

    def row(self, label: str) -> str:
        def micro(value: float) -> str:
            return f"{value * 1e6:.0f} µs"

        return (
            f"| {label} | {micro(statistics.median(self.wall))} | {micro(percentile_99(self.wall))} "
            f"| {micro(statistics.median(self.round_means))} | {micro(statistics.median(self.cpu))} "
            f"| {micro(percentile_99(self.cpu))} |"
        )


def percentile_99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def time_per_post(posts: Sequence[str], work: Callable[[str], int], timings: Timings) -> int:
    hits = 0
    wall: list[float] = []
    for text in posts:
        started, started_cpu = time.perf_counter(), time.process_time()
        hits += work(text)
        wall.append(time.perf_counter() - started)
        timings.cpu.append(time.process_time() - started_cpu)
    timings.wall.extend(wall)
    timings.round_means.append(sum(wall) / len(wall))
    return hits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    people = generate_people(args.people, rng)
    generated = [generate_post(people, rng) for _ in range(args.posts)]
    posts = [post.text for post in generated]
    patterns = plain_regexes(people)

    def plain(text: str) -> int:
        lowered = text.lower()
        return sum(1 for pattern in patterns for _ in pattern.finditer(lowered))

    timings = {"find": Timings([], [], []), "plain": Timings([], [], [])}
    builds: list[float] = []
    kinds: Counter[str] = Counter()
    plain_hits = 0
    for round_number in range(args.repeats):
        started = time.perf_counter()
        watchlist = TextWatchlist([person.identifiers for person in people])
        builds.append(time.perf_counter() - started)
        kinds = Counter()

        def find(text: str, watchlist: TextWatchlist = watchlist, kinds: Counter[str] = kinds) -> int:
            hits = watchlist.find(PostText(text=text))
            kinds.update(hit.kind for hit in hits)
            return len(hits)

        order = [("find", find), ("plain", plain)]
        for name, work in order if round_number % 2 == 0 else reversed(order):
            hits = time_per_post(posts, work, timings[name])
            if name == "plain":
                plain_hits = hits

    planted, found, others = checked(TextWatchlist([person.identifiers for person in people]), generated)
    ratio = statistics.median(timings["find"].wall) / statistics.median(timings["plain"].wall)
    cpu_ratio = statistics.median(timings["find"].cpu) / statistics.median(timings["plain"].cpu)
    print(f"Text signals: {args.posts} generated posts, {args.people} people, {args.repeats} rounds, one process.")
    print(f"Watchlist build (median): {statistics.median(builds) * 1e3:.0f} ms\n")
    print("| Per post | Median | p99 | Mean (median of rounds) | CPU median | CPU p99 |")
    print("|---|---|---|---|---|---|")
    print(timings["find"].row("`TextWatchlist.find`"))
    print(timings["plain"].row("Plain regex (3 alternations)"))
    print(f"\nRatio find / plain regex (medians): **{ratio:.2f}** (CPU time: {cpu_ratio:.2f})")
    print(
        f"Signals planted: {planted}, found: {found} ({found / planted:.1%}); "
        f"(person, kind) pairs found beyond them: {others}"
    )
    print(f"Hits per round: find {dict(sorted(kinds.items()))}; plain regex {plain_hits} exact matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
