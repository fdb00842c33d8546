"""Templates read the request's catalogue once per locale (``webui.i18n.catalogue``) and still
follow every change of locale inside the request: ``force_locale`` and back."""
from __future__ import annotations

from flask import render_template_string
from flask_babel import force_locale

TEMPLATE = "{{ _('Cases') }}|{{ ngettext('%(num)d case', '%(num)d cases', 2) }}"


def test_a_template_follows_the_locale_in_force_and_back(app):
    with app.test_request_context("/", headers={"Accept-Language": "ar"}):
        arabic = render_template_string(TEMPLATE)
        assert arabic.startswith("الحالات|")
        with force_locale("en"):
            assert render_template_string(TEMPLATE) == "Cases|2 cases"
        assert render_template_string(TEMPLATE) == arabic
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string(TEMPLATE) == "Cases|2 cases"
