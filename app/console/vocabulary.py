"""Messages the templates translate from a value (an alert's kind, tier, status; a role; a watch state), listed
here so that `pybabel extract` finds them for the catalogues under `i18n/`."""

from __future__ import annotations


def _(message: str) -> str:
    return message


VALUES = (
    _("face_match"),
    _("phone_number"),
    _("name_mention"),
    _("lookalike_domain"),
    _("tier match"),
    _("tier possible"),
    _("priority urgent"),
    _("priority high"),
    _("priority normal"),
    _("priority low"),
    _("new"),
    _("confirmed_impersonation"),
    _("authentic"),
    _("false_match"),
    _("dismissed"),
    _("operator"),
    _("org_admin"),
    _("org_member"),
    _("subject"),
    _("ok"),
    _("retrying"),
    _("needs_attention"),
    _("pending"),
    _("delivered"),
    _("dead"),
    _("re-scan running"),
    _("re-scan finished"),
    _("re-scan failed"),
    _("re-scan interrupted"),
    _("name mentions off"),
    _("name mentions possible"),
    _("name mentions match"),
    _("sign in first"),
    _("type the name exactly as shown to erase"),
    _("the form is stale or was not sent by this console: reload the page"),
    _("the invitation is unknown, used or expired"),
    _("enrolment needs explicit consent (consent=true)"),
    _("photo no_face"),
    _("photo multiple_faces"),
    _("photo face_too_small"),
    _("photo too_blurry"),
    _("photo corrupt_image"),
    _("photo empty_file"),
    _("photo image_too_large"),
    _("photo not_an_image"),
    _("photo duplicate_reference"),
)
