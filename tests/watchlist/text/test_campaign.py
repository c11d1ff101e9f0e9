"""Campaign terms: the operator's words found across case endings and scripts, returned as configured."""

from __future__ import annotations

from watchlist.text import campaign_terms_in

TERMS = ["контракт", "Бессмертный полк", "Өлмес полк", "мобилизация"]


def test_terms_across_case_endings_and_scripts() -> None:
    assert campaign_terms_in("Приглашаем принять участие в шествии «Бессмертного полка» 9 мая!", TERMS) == [
        "Бессмертный полк"
    ]
    assert campaign_terms_in("Барлығыңызды «Өлмес полкқа» қосылуға шақырамыз", TERMS) == ["Өлмес полк"]
    assert campaign_terms_in("Olmes polk akciyasy 9 mamyrda", TERMS) == ["Өлмес полк"]
    assert campaign_terms_in("Подпиши контракт сегодня: выплаты по контракту от 5 млн", TERMS) == ["контракт"]
    assert campaign_terms_in("Контрактқа қол қойыңыз! Мобилизацияға дайын болыңыз", TERMS) == [
        "контракт",
        "мобилизация",
    ]


def test_words_of_a_term_apart_or_alone_are_not_the_term() -> None:
    assert campaign_terms_in("Полк прошёл парадом, а бессмертный подвиг героев помнят", TERMS) == []
    assert campaign_terms_in("Погода в Алматы: солнечно, +25", TERMS) == []
    assert campaign_terms_in("Наши контакты: редакция, 3 этаж", TERMS) == []  # a neighbour of контракт
    assert campaign_terms_in("Бессмертный полк", []) == []
