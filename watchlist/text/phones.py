"""Phone numbers: found with `phonenumbers` and compared in E.164 with the enrolled ones.

`PhoneNumberMatcher` at `Leniency.VALID` finds every real format (`+7 701 555 12 34`, `8 (701) 555-12-34`,
`87015551234`, dots, a number inside Kazakh or Russian words) and leaves IINs, dates, amounts, card numbers and
IBANs alone. It costs about a quarter of a millisecond per post, so it only runs on a text in which some run of
digits (spaces, dots, dashes and brackets allowed between them) contains the national digits of an enrolled
number: most posts are settled by one regular expression and a few substring tests.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

_DIGIT_RUN = re.compile(r"\d(?:[\s().\-]{0,3}\d){6,}")
_NOT_DIGIT = re.compile(r"\D")


def to_e164(number: str, default_region: str = "KZ") -> str | None:
    """The number in E.164 (`+77015551234`), or None when it is not a valid number. A leading 8 is
    Kazakhstan's (and Russia's) trunk prefix, so `8 701 555 12 34` is `+77015551234` in the KZ region."""
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class PhoneFound:
    person_id: uuid.UUID
    e164: str
    start: int
    end: int
    text: str


class PhoneIndex:
    def __init__(self, numbers: Iterable[tuple[uuid.UUID, str]], default_region: str) -> None:
        self._region = default_region
        self._people: dict[str, set[uuid.UUID]] = defaultdict(set)
        self._national: dict[int, set[str]] = defaultdict(set)  # national digits of enrolled numbers, by length
        for person_id, number in numbers:
            e164 = to_e164(number, default_region)
            if e164 is None:
                continue
            self._people[e164].add(person_id)
            national = str(phonenumbers.parse(e164).national_number)
            self._national[len(national)].add(national)

    def __bool__(self) -> bool:
        return bool(self._people)

    def find(self, text: str) -> list[PhoneFound]:
        if not self._might_hold_an_enrolled_number(text):
            return []
        found = []
        for match in phonenumbers.PhoneNumberMatcher(text, self._region, leniency=phonenumbers.Leniency.VALID):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            found += [
                PhoneFound(person_id, e164, match.start, match.end, match.raw_string)
                for person_id in self._people.get(e164, ())
            ]
        return found

    def find_whole(self, entity_text: str) -> list[PhoneFound]:
        """A Telegram `phone` entity: its whole text is the number."""
        e164 = to_e164(entity_text.strip(), self._region)
        if e164 is None:
            return []
        return [
            PhoneFound(person_id, e164, 0, len(entity_text), entity_text) for person_id in self._people.get(e164, ())
        ]

    def _might_hold_an_enrolled_number(self, text: str) -> bool:
        for run in _DIGIT_RUN.finditer(text):
            digits = _NOT_DIGIT.sub("", run.group())
            for length, numbers in self._national.items():
                if any(digits[start : start + length] in numbers for start in range(len(digits) - length + 1)):
                    return True
        return False
