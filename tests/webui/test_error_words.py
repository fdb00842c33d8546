"""The use cases' messages with values in them (``engine.service_ops.error_texts.TEMPLATES``),
raised in English and shown in the reader's language: each is read by its own template (not
by a shorter one), its values kept or shown by their labels; English stays as raised."""
from __future__ import annotations

import re

import pytest

from engine.process.stored_texts import filled, in_language
from engine.service_ops.error_texts import TEMPLATES
from engine.service_ops.translations import translations_for

SAMPLE = {"code": "CM-7QXR-2KPM", "id": "17", "username": "caseworker9", "name": "'nobody'", "value": "'bogus'",
          "most": "50", "least": "1", "active": "31", "cap": "30", "codes": "CM-1, CM-2", "field": "summary",
          "rule": "R27", "date": "2026-04-01T09:00:00+00:00", "action": "a referral", "kind": "it_failure",
          "when": "2 Mar 2026, 09:00 UTC", "roles": "crisis team or director or admin", "doing": "declare a disruption"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_message_is_read_by_its_own_template_in_arabic(template):
    english = template % SAMPLE
    arabic = in_language(english, "ar")
    assert in_language(english, "en") == in_language(english, None) == english
    assert arabic != english and not re.search(r"\b(case|crisis|is|not|the|no)\b", arabic), arabic
    translated = translations_for("ar").gettext(template)
    values = filled(translated, arabic)
    assert values is not None and set(values) == set(PLACEHOLDER.findall(template))
    for name in ("code", "id", "username", "most", "codes"):
        if name in values:
            assert values[name] == SAMPLE[name]


def test_a_raised_message_reads_in_arabic_with_its_values_by_their_labels():
    assert in_language("no case CM-7QXR-2KPM in a handover of yours", "ar") == \
        "لا توجد الحالة CM-7QXR-2KPM في أي تسليم قمت به"
    assert in_language("case CM-1 is closed: a closure request is not possible (reopen it first)", "ar") == \
        "الحالة CM-1 مغلقة: لا يمكن تقديم طلب إغلاق (أعد فتحها أولًا)"
    assert in_language("only crisis team members may read the disruption log", "ar") == \
        "لا يحق قراءة سجل الانقطاع إلا لفريق الاستجابة للأزمات"
    assert "عطل في تقنية المعلومات" in in_language(
        "crisis 3 (IT failure, declared 2 Mar 2026, 09:00 UTC) is still active: add to its disruption log "
        "instead of declaring a second one", "ar")


def _raised_templates():
    """The templates of the messages raised with values in them (``N_("…") % {…}``, ``message("…", …)``)."""
    import ast
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "engine"
    for package in ("case", "committee", "crisis", "complaints", "supervision"):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Raise):
                    continue
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call) and getattr(inner.func, "id", None) in ("N_", "message") \
                            and inner.args and isinstance(inner.args[0], ast.Constant):
                        yield f"{path.relative_to(root)}:{inner.lineno}", inner.args[0].value


def test_every_message_raised_with_values_has_its_template_marked():
    raised = list(_raised_templates())
    assert len(raised) > 60
    assert [where for where, template in raised if template not in TEMPLATES] == []
