import uuid

import httpx

from tests.factories import decompression_bomb, faceless_photo, truncated_jpeg
from tests.support import fixture_bytes


def create(api: httpx.Client, name: str = "Barack Obama", **fields: object) -> dict:
    response = api.post("/v1/persons", json={"display_name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def upload_face(api: httpx.Client, person_id: str, data: bytes, name: str = "photo.jpg", **form: str) -> httpx.Response:
    return api.post(f"/v1/persons/{person_id}/faces", files={"photo": (name, data)}, data=form)


def test_person_lifecycle(api: httpx.Client) -> None:
    person = create(
        api,
        aliases=["Барак Обама", "Барак Обама", " "],
        official_channels=["@BarackObama", "https://t.me/s/obama_official"],
        role_title="44th President",
    )
    assert person["aliases"] == ["Барак Обама"]
    assert person["official_channels"] == ["barackobama", "obama_official"]
    assert person["reference_faces"] == 0
    updated = api.patch(f"/v1/persons/{person['id']}", json={"tolerance": 0.45, "role_title": None})
    assert updated.status_code == 200
    assert updated.json()["tolerance"] == 0.45
    assert updated.json()["role_title"] is None
    assert [p["id"] for p in api.get("/v1/persons", params={"q": "obam"}).json()] == [person["id"]]
    erased = api.delete(f"/v1/persons/{person['id']}")
    assert erased.status_code == 200 and erased.json()["person_id"] == person["id"]
    assert api.get(f"/v1/persons/{person['id']}").status_code == 404


def test_invalid_person_fields_are_422(api: httpx.Client) -> None:
    assert api.post("/v1/persons", json={"display_name": "  "}).status_code == 422
    assert api.post("/v1/persons", json={"display_name": "X", "tolerance": 3}).status_code == 422
    bad_channel = api.post("/v1/persons", json={"display_name": "X", "official_channels": ["not a channel!"]})
    assert bad_channel.status_code == 422
    assert "channel" in bad_channel.text


def test_text_identifiers_are_normalised_and_kept(api: httpx.Client) -> None:
    person = create(
        api,
        "Aigerim Nurtileu",
        phone_numbers=["8 (701) 555-12-34", "+7 701 555 12 34", "+7-727-244-00-00"],
        websites=["https://www.Orda.kz/ru/news", "nurtileu.kz"],
        distinctive_aliases=["Нұртілеу"],
    )
    assert person["phone_numbers"] == ["+77015551234", "+77272440000"]
    assert person["websites"] == ["orda.kz", "nurtileu.kz"]
    assert person["distinctive_aliases"] == ["Нұртілеу"]
    assert (person["name_mentions"], person["phone_alerts"], person["website_alerts"]) == ("possible", True, True)

    updated = api.patch(
        f"/v1/persons/{person['id']}",
        json={"name_mentions": "match", "phone_alerts": False, "websites": ["orda.kz"], "phone_numbers": None},
    )
    assert updated.status_code == 200, updated.text
    changed = updated.json()
    assert (changed["name_mentions"], changed["phone_alerts"], changed["websites"]) == ("match", False, ["orda.kz"])
    assert changed["phone_numbers"] == ["+77015551234", "+77272440000"], "null leaves a list as it is"


def test_a_bad_number_or_website_is_422_with_a_code_and_changes_nothing(api: httpx.Client) -> None:
    for number in ("12345", "870412300415", "+7 701 555", "звоните"):
        refused = api.post("/v1/persons", json={"display_name": "X", "phone_numbers": [number]})
        assert (refused.status_code, refused.json()["code"]) == (422, "bad_phone_number"), number
    for website in ("kz", "gov.kz", "not a site", "http://"):
        refused = api.post("/v1/persons", json={"display_name": "X", "websites": [website]})
        assert (refused.status_code, refused.json()["code"]) == (422, "bad_website"), website
    assert api.get("/v1/persons").json() == []
    person = create(api, "Y", phone_numbers=["+77015551234"])
    refused = api.patch(f"/v1/persons/{person['id']}", json={"phone_numbers": ["1"], "role_title": "editor"})
    assert (refused.status_code, refused.json()["code"]) == (422, "bad_phone_number")
    kept = api.get(f"/v1/persons/{person['id']}").json()
    assert (kept["phone_numbers"], kept["role_title"]) == (["+77015551234"], None)
    assert api.patch(f"/v1/persons/{person['id']}", json={"name_mentions": "always"}).status_code == 422


def test_enrol_reference_face_returns_quality(api: httpx.Client) -> None:
    person = create(api)
    response = upload_face(api, person["id"], fixture_bytes("obama.jpg"))
    assert response.status_code == 201, response.text
    face = response.json()
    assert face["face_width"] >= 200 and face["sharpness"] > 25
    assert face["model_name"] == "dlib_face_recognition_resnet_model_v1"
    assert "encoding" not in face
    crop = api.get(f"/v1/persons/{person['id']}/faces/{face['id']}/crop.jpg")
    assert crop.status_code == 200 and crop.content.startswith(b"\xff\xd8")
    assert api.get(f"/v1/persons/{person['id']}").json()["reference_faces"] == 1
    again = upload_face(api, person["id"], fixture_bytes("obama.jpg"))
    assert again.status_code == 409
    assert api.delete(f"/v1/persons/{person['id']}/faces/{face['id']}").status_code == 204
    assert api.get(f"/v1/persons/{person['id']}/faces").json() == []


def test_refused_photos_answer_422_with_a_reason_and_store_nothing(api: httpx.Client) -> None:
    person = create(api)
    cases = {
        "empty_file": b"",
        "not_an_image": b"hello, I am text\n",
        "corrupt_image": truncated_jpeg(),
        "image_too_large": decompression_bomb(),
        "no_face": faceless_photo(),
        "multiple_faces": fixture_bytes("two_people.jpg"),
    }
    for code, data in cases.items():
        response = upload_face(api, person["id"], data)
        assert response.status_code == 422, code
        assert response.json()["code"] == code
        assert response.json()["detail"]
    assert api.get(f"/v1/persons/{person['id']}/faces").json() == []
    picked = upload_face(api, person["id"], fixture_bytes("two_people.jpg"), face_index="0")
    assert picked.status_code == 201


def test_unknown_person_is_404(api: httpx.Client) -> None:
    missing = uuid.uuid4()
    assert api.get(f"/v1/persons/{missing}").json()["code"] == "not_found"
    assert upload_face(api, str(missing), fixture_bytes("obama.jpg")).status_code == 404
    assert api.get("/v1/persons/not-a-uuid").status_code == 422


def test_enrolment_reports_distances_and_warns_about_somebody_else(api: httpx.Client) -> None:
    obama = create(api, "Barack Obama")
    first = upload_face(api, obama["id"], fixture_bytes("obama.jpg")).json()
    assert (first["distances_to_own_references"], first["warning"]) == ([], None)
    second = upload_face(api, obama["id"], fixture_bytes("obama2.jpg")).json()
    [distance] = second["distances_to_own_references"]
    assert 0 < distance < 0.5 and second["warning"] is None

    biden = create(api, "Joe Biden")
    assert upload_face(api, biden["id"], fixture_bytes("biden.jpg")).json()["warning"] is None
    mistaken = upload_face(api, biden["id"], fixture_bytes("obama4.jpg")).json()
    assert "Barack Obama" in mistaken["warning"]
    assert mistaken["nearest_other_person_distance"] < min(mistaken["distances_to_own_references"])


def test_calibration_shows_thresholds_and_what_they_rest_on(api: httpx.Client) -> None:
    obama = create(api, "Barack Obama")
    assert upload_face(api, obama["id"], fixture_bytes("obama.jpg")).status_code == 201
    calibration = api.get(f"/v1/persons/{obama['id']}/calibration").json()
    assert (calibration["faces"], calibration["calibrated"], calibration["tolerance_override"]) == (0, False, None)
    assert calibration["match_threshold"] <= calibration["possible_threshold"] <= 0.5

    biden = create(api, "Joe Biden")
    assert upload_face(api, biden["id"], fixture_bytes("biden.jpg")).status_code == 201
    counted = api.get(f"/v1/persons/{obama['id']}/calibration").json()
    assert counted["faces"] == 1, "the other person's reference is one background face (a distance, no encoding)"
    assert counted["counts_updated_at"] is not None and counted["thresholds_changed_at"] is not None
    assert api.get(f"/v1/persons/{obama['id']}/negatives").json() == []
    assert api.get(f"/v1/persons/{uuid.uuid4()}/calibration").status_code == 404
