"""What the reporting bot answers a reader, in their language (Telegram's `language_code`: ru, kk, else en)."""

from __future__ import annotations

ANSWERS: dict[str, dict[str, str]] = {
    "en": {
        "matched_named": "Thank you. This shows {names}, on our watchlist; it was passed on to the press office.",
        "matched": "Thank you. A person on our watchlist appears in it; it was passed on to their press office.",
        "no_match": "Thank you. No one on our watchlist was found in it; it was passed on for review.",
        "too_large": "This file is too large to check (the limit is {megabytes} MB). Send a shorter clip or a link.",
        "unreadable": "This file could not be read as a photo or a video. Send the original photo or video.",
        "private_link": "This link is to a private channel or group, which cannot be checked. Forward the post.",
        "not_found": "That post was not found on the channel's public page (t.me/s). Check the link.",
        "no_media": "That post has no photo or video to check.",
        "rate_limited": "You have sent many reports in the last hour. Please try again later.",
        "help": "Forward a suspicious photo or video here, or send a link to a public post (t.me/channel/123).",
        "failed": "The check did not finish. Please try again a little later.",
    },
    "ru": {
        "matched_named": "Спасибо. Здесь {names} из нашего списка наблюдения; материал передан пресс-службе.",
        "matched": "Спасибо. Здесь есть человек из нашего списка наблюдения; материал передан его пресс-службе.",
        "no_match": "Спасибо. Людей из нашего списка наблюдения здесь не найдено; материал передан на проверку.",
        "too_large": "Файл слишком большой для проверки (предел {megabytes} МБ). Пришлите отрывок короче или ссылку.",
        "unreadable": "Этот файл не читается как фото или видео. Пришлите исходное фото или видео.",
        "private_link": "Это ссылка на закрытый канал или группу, её нельзя проверить. Перешлите саму публикацию.",
        "not_found": "Эта публикация не найдена на открытой странице канала (t.me/s). Проверьте ссылку.",
        "no_media": "В этой публикации нет фото или видео для проверки.",
        "rate_limited": "Вы прислали много сообщений за последний час. Попробуйте позже.",
        "help": "Перешлите сюда подозрительное фото или видео или пришлите ссылку на публикацию (t.me/канал/123).",
        "failed": "Проверка не завершилась. Попробуйте чуть позже.",
    },
    "kk": {
        "matched_named": "Рақмет. Мұнда біздің бақылау тізіміндегі {names} бар; материал баспасөз қызметіне жіберілді.",
        "matched": "Рақмет. Мұнда біздің бақылау тізіміндегі адам бар; материал оның баспасөз қызметіне жіберілді.",
        "no_match": "Рақмет. Мұнда біздің бақылау тізіміндегі ешкім табылмады; материал тексеруге жіберілді.",
        "too_large": "Файл тексеру үшін тым үлкен (шегі {megabytes} МБ). Қысқарақ үзінді немесе сілтеме жіберіңіз.",
        "unreadable": "Бұл файл фото немесе бейне ретінде оқылмады. Түпнұсқа фото не бейнені жіберіңіз.",
        "private_link": "Бұл жабық арна не топ сілтемесі, оны тексеру мүмкін емес. Жарияланымның өзін жіберіңіз.",
        "not_found": "Бұл жарияланым арнаның ашық бетінде (t.me/s) табылмады. Сілтемені тексеріңіз.",
        "no_media": "Бұл жарияланымда тексеретін фото немесе бейне жоқ.",
        "rate_limited": "Соңғы сағатта көп хабар жібердіңіз. Кейінірек қайталап көріңіз.",
        "help": "Күдікті фото не бейнені осында жіберіңіз, не ашық жарияланым сілтемесін (t.me/арна/123) жіберіңіз.",
        "failed": "Тексеру аяқталмады. Сәлден соң қайталап көріңіз.",
    },
}


def reader_language(language_code: str | None) -> str:
    code = (language_code or "").split("-")[0].lower()
    return code if code in ANSWERS else "en"


def answer(outcome: str, language: str, **values: object) -> str:
    return ANSWERS[reader_language(language)][outcome].format(**values)
