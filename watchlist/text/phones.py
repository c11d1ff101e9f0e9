"""Phone numbers: found with `phonenumbers` and compared in E.164 with the enrolled ones.

`PhoneNumberMatcher` at `Leniency.VALID` finds every real format (`+7 701 555 12 34`, `8 (701) 555-12-34`,
`87015551234`, dots, a number inside Kazakh or Russian words) and leaves IINs, dates, amounts, card numbers and
IBANs alone. It costs about a quarter of a millisecond per post, so it only runs on a text in which some run of
digits (spaces, dots, dashes and brackets allowed between them) holds the national digits of an enrolled number
as a group of its own: most posts are settled by one regular expression and a few set lookups. That same test
is the fallback for a number followed by another one after a space, which the matcher reads as one longer
number (`Звоните +7 701 555 12 34 12.03.2024`).
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
        self._by_national: dict[str, set[str]] = defaultdict(set)  # national digits -> E.164
        self._prefixes: dict[str, tuple[str, str]] = {}  # E.164 -> (country code, trunk prefix)
        for person_id, number in numbers:
            e164 = to_e164(number, default_region)
            if e164 is None:
                continue
            self._people[e164].add(person_id)
            parsed = phonenumbers.parse(e164)
            national = str(parsed.national_number)
            self._national[len(national)].add(national)
            self._by_national[national].add(e164)
            trunk = "8" if parsed.country_code == 7 else "0"  # Kazakhstan's and Russia's 8, most others' 0
            self._prefixes[e164] = (str(parsed.country_code), trunk)

    def __bool__(self) -> bool:
        return bool(self._people)

    def find(self, text: str) -> list[PhoneFound]:
        written = self._enrolled_digits_in(text)
        if not written:
            return []
        found = []
        for match in phonenumbers.PhoneNumberMatcher(text, self._region, leniency=phonenumbers.Leniency.VALID):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            found += [
                PhoneFound(person_id, e164, match.start, match.end, match.raw_string)
                for person_id in self._people.get(e164, ())
            ]
        for e164, start, end in written:
            if not any(hit.e164 == e164 and hit.start < end and start < hit.end for hit in found):
                found += [PhoneFound(person_id, e164, start, end, text[start:end]) for person_id in self._people[e164]]
        return found

    def find_whole(self, entity_text: str) -> list[PhoneFound]:
        """A Telegram `phone` entity: its whole text is the number."""
        e164 = to_e164(entity_text.strip(), self._region)
        if e164 is None:
            return []
        return [
            PhoneFound(person_id, e164, 0, len(entity_text), entity_text) for person_id in self._people.get(e164, ())
        ]

    def _enrolled_digits_in(self, text: str) -> list[tuple[str, int, int]]:
        """(E.164, start, end) of every enrolled number written as its own group of digits in a run of digits.

        This is the cheap test that decides whether `PhoneNumberMatcher` runs at all, and the fallback for a
        number the matcher reads as part of a longer one because another number follows it after a space
        (`+7 701 555 12 34 12.03.2024`). The number's national digits, with its country code (`+7`, `7`) or trunk
        prefix (`8`) when one is written, must not be glued to a digit on either side: so an IIN, a card number
        or an amount that contains the digits is not the number.
        """
        written = []
        for run in _DIGIT_RUN.finditer(text):
            positions = [run.start() + offset for offset, char in enumerate(run.group()) if char.isdigit()]
            digits = "".join(text[position] for position in positions)
            for length, numbers in self._national.items():
                for first in range(len(digits) - length + 1):
                    national = digits[first : first + length]
                    if national not in numbers:
                        continue
                    last = first + length - 1
                    if last + 1 < len(digits) and positions[last + 1] == positions[last] + 1:
                        continue  # glued to the next digit
                    for e164 in self._by_national[national]:
                        start = self._start_with_prefix(text, positions, digits, first, e164)
                        if start is not None:
                            written.append((e164, start, positions[last] + 1))
        return written

    def _start_with_prefix(self, text: str, positions: list[int], digits: str, first: int, e164: str) -> int | None:
        """Where the number starts (its prefix included), or None when a digit is glued in front of it."""
        for prefix in self._prefixes[e164]:
            begin = first - len(prefix)
            if begin >= 0 and digits[begin:first] == prefix and not _glued_before(positions, begin):
                start = positions[begin]
                return start - 1 if text[start - 1 : start] == "+" else start
        return None if _glued_before(positions, first) else positions[first]


def _glued_before(positions: list[int], index: int) -> bool:
    """Whether the digit at `index` of a run has another digit right before it in the text."""
    return index > 0 and positions[index - 1] == positions[index] - 1
