"""The workflows' texts in other languages: the template lists every text of the forms and
diagrams, the Arabic catalogue translates every one of them, a form keeps its names and
values when its words change, a missing translation falls back to English, and a deploy
refuses a catalogue entry that changes a placeholder."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from engine.bpmn import workflow_texts
from engine.errors import SpecInvalid
from engine.process import deployment, workflow_catalogues

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
POT = WORKFLOWS / workflow_catalogues.TEMPLATE
ARABIC = workflow_catalogues.catalogue_path("ar", WORKFLOWS)


def _read(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


@pytest.fixture
def workflows_at(tmp_path):
    """Point the catalogues at a folder of the test's own (put back afterwards)."""
    def point(folder: Path) -> Path:
        workflow_catalogues.configure(folder)
        workflow_catalogues.clear_cache()
        return folder

    yield point
    workflow_catalogues.configure(WORKFLOWS)
    workflow_catalogues.clear_cache()


def _catalogue(folder: Path, entries: list[tuple[str, str, str]], language: str = "ar") -> Path:
    """A .po of (msgid, msgstr, flags) entries."""
    path = workflow_catalogues.catalogue_path(language, folder)
    path.parent.mkdir(parents=True)
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=utf-8\\n"', ""]
    for english, translated, flags in entries:
        lines += ([f"#, {flags}"] if flags else []) + [f"msgid {json.dumps(english, ensure_ascii=False)}",
                                                        f"msgstr {json.dumps(translated, ensure_ascii=False)}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# -- the template and the Arabic catalogue ---------------------------------------------------
def test_the_template_is_current_with_the_forms_and_diagrams():
    """A new or changed text in a form or a diagram needs `workflow-texts extract` (and then
    its Arabic: the next test)."""
    wanted = {m.id for m in workflow_catalogues.extract(WORKFLOWS) if m.id}
    written = {m.id for m in _read(POT) if m.id}
    assert sorted(wanted - written) == [], "run: python -m webui.cli workflow-texts extract"
    assert sorted(written - wanted) == [], "run: python -m webui.cli workflow-texts extract"


def test_the_template_has_every_form_title_and_every_choice_label_but_no_field_name_or_value():
    written = {m.id for m in _read(POT) if m.id}
    forms = sorted((WORKFLOWS / "forms").glob("*.json"))
    assert len(forms) >= 60
    for file in forms:
        schema = json.loads(file.read_text("utf-8"))
        assert schema["title"] in written, file.name
        for name, field in schema.get("properties", {}).items():
            assert field.get("title", name) in written or "title" not in field, (file.name, name)
            for option in field.get("oneOf", []) + (field.get("items") or {}).get("oneOf", []):
                assert option["title"] in written, (file.name, name, option)
    for name_or_value in ("immediate_danger", "red_needs", "case_code", "goals_met", "community_member"):
        assert name_or_value not in written
    assert "Screen the referral" in written  # a task title of a diagram
    assert "{conference_kind} conference: your vote" in written  # kept with its placeholder
    assert "Admission" in written  # what {conference_kind} may be filled with


def test_every_text_of_the_template_has_an_arabic_translation():
    template = [m.id for m in _read(POT) if m.id]
    arabic = {m.id: m for m in _read(ARABIC) if m.id}
    missing = [english for english in template if english not in arabic or not arabic[english].string
               or arabic[english].fuzzy]
    assert missing == [], f"{len(missing)} texts without Arabic, e.g. {missing[:5]}"
    for english in template:
        assert workflow_texts.placeholder_problem(english, arabic[english].string) is None, english
    assert workflow_catalogues.check_catalogues(WORKFLOWS) == []
    assert [(c.language, c.translated, c.total) for c in workflow_catalogues.completeness(WORKFLOWS)] == [
        ("ar", len(template), len(template))]


# -- a form in another language ----------------------------------------------------------------
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Screen the referral", "description": "Screening.", "type": "object",
    "required": ["title", "vote"],
    "properties": {
        "title": {"type": "string", "title": "Notes", "default": "Notes", "description": "Notes"},
        "vote": {"type": "string", "title": "Decision", "enum": ["approve", "reject"],
                 "oneOf": [{"const": "approve", "title": "Approve"}, {"const": "reject", "title": "Reject"}],
                 "errorMessage": {"required": "Choose approve or reject."}},
        "needs": {"type": "array", "items": {"type": "string", "title": "Specific need",
                                             "enum": ["Child labour"], "examples": ["Child labour"]}},
        "case_code": {"type": "string", "title": "Case code", "readOnly": True},
    },
    "$defs": {"later": {"title": "Not applicable", "const": "Not applicable"}},
    "additionalProperties": False,
}


def test_translate_form_translates_the_words_and_keeps_every_name_and_value():
    original = copy.deepcopy(SCHEMA)
    shown = workflow_catalogues.translate_form(SCHEMA, "ar")
    assert SCHEMA == original  # the form itself is never changed
    assert shown["title"] == "فرز الإحالة" and shown["properties"]["vote"]["title"] == "القرار"
    assert [o["title"] for o in shown["properties"]["vote"]["oneOf"]] == ["موافقة", "رفض"]
    assert [o["const"] for o in shown["properties"]["vote"]["oneOf"]] == ["approve", "reject"]
    assert shown["properties"]["vote"]["errorMessage"] == {"required": "اختر الموافقة أو الرفض."}
    assert shown["properties"]["needs"]["items"]["title"] == "الاحتياج المحدد"
    assert shown["properties"]["case_code"]["title"] == "رمز الحالة"
    assert shown["$defs"]["later"] == {"title": "لا ينطبق", "const": "Not applicable"}
    # a field called "title" is a name, its default a value: both as they were
    assert list(shown["properties"]) == list(SCHEMA["properties"]) and shown["required"] == ["title", "vote"]
    assert shown["properties"]["title"]["default"] == "Notes" and shown["properties"]["title"]["title"] == "ملاحظات"
    assert shown["properties"]["needs"]["items"]["enum"] == ["Child labour"]
    assert shown["properties"]["needs"]["items"]["examples"] == ["Child labour"]
    shown["properties"]["vote"]["enum"].append("abstain")  # a copy all the way down
    assert SCHEMA["properties"]["vote"]["enum"] == ["approve", "reject"]


def test_english_a_missing_text_or_an_unknown_language_give_the_english_words():
    assert workflow_catalogues.translate_form(SCHEMA, "en") == SCHEMA
    assert workflow_catalogues.translate_form(SCHEMA, "en") is not SCHEMA
    assert workflow_catalogues.translate_form(SCHEMA, "fr") == SCHEMA
    assert workflow_catalogues.translate_form(SCHEMA, "../../etc") == SCHEMA
    assert workflow_catalogues.translate_form(None, "ar") is None
    unknown = {"title": "A text nobody translated", "type": "object"}
    assert workflow_catalogues.translate_form(unknown, "ar") == unknown
    assert workflow_catalogues.translate("A text nobody translated", "ar") == "A text nobody translated"


def test_empty_fuzzy_and_placeholder_changing_entries_are_shown_in_english(tmp_path, workflows_at):
    workflows_at(tmp_path)
    _catalogue(tmp_path, [("Decision", "القرار", ""), ("Approve", "", ""), ("Reject", "رفض", "fuzzy"),
                          ("Review the closure request: {closure_reason}", "مراجعة طلب الإغلاق", "")])
    shown = workflow_catalogues.translate_form(SCHEMA, "ar")
    assert shown["properties"]["vote"]["title"] == "القرار"
    assert [o["title"] for o in shown["properties"]["vote"]["oneOf"]] == ["Approve", "Reject"]
    assert shown["title"] == "Screen the referral"
    assert workflow_catalogues.task_title("Review the closure request: Death of the child", "ar") == \
        "Review the closure request: Death of the child"


def test_a_title_template_with_a_format_spec_is_never_filled_in_again(tmp_path, workflows_at):
    workflows_at(tmp_path)
    _catalogue(tmp_path, [("Case review: {review_kind:>99999999}", "مراجعة الحالة: {review_kind:>99999999}", "")])
    assert workflow_catalogues.task_title("Case review: scheduled review", "ar") == "Case review: scheduled review"


def test_a_catalogue_that_cannot_be_read_leaves_everything_in_english(tmp_path, workflows_at):
    workflows_at(tmp_path)
    path = _catalogue(tmp_path, [("Decision", "القرار", "")])
    path.write_text(path.read_text("utf-8") + '\nmsgid "Approve"\nbroken line\n', encoding="utf-8")
    assert workflow_catalogues.translate("Decision", "ar") == "Decision"


def test_the_walk_is_bounded_however_deep_the_schema():
    deep: dict = {"title": "Decision"}
    for _ in range(5000):  # far beyond the deploy's bound; built without recursion
        deep = {"type": "object", "title": "Decision", "properties": {"inner": deep}}
    shown = workflow_catalogues.translate_form(deep, "ar")
    assert shown["title"] == "القرار"
    assert shown["properties"]["inner"]["title"] == "القرار"


# -- task titles -------------------------------------------------------------------------------
def test_task_titles_are_translated_with_their_filled_in_words():
    assert workflow_catalogues.task_title("Screen the referral", "ar") == "فرز الإحالة"
    assert workflow_catalogues.task_title("Admission conference: your vote", "ar") == "مؤتمر القبول: صوتك"
    assert workflow_catalogues.task_title("Review the closure request: Death of the child", "ar") == \
        "مراجعة طلب الإغلاق: وفاة الطفل"
    assert workflow_catalogues.task_title("Case review: early review, the situation worsened", "ar") == \
        "مراجعة الحالة: مراجعة مبكرة، تدهور الوضع"
    # a provider's own name stays as it was written, however it is punctuated
    assert workflow_catalogues.task_title("Record the outcome of the referral to Hope (North) Clinic (legal aid)",
                                          "ar") == "تسجيل نتيجة الإحالة إلى Hope (North) Clinic (legal aid)"
    assert workflow_catalogues.task_title("Screen the referral", "en") == "Screen the referral"
    assert workflow_catalogues.task_title("A title nobody translated", "ar") == "A title nobody translated"
    assert workflow_catalogues.task_title("Case review: ", "ar") == "Case review: "  # nothing filled: English


# -- the deploy's check ------------------------------------------------------------------------
def test_a_deploy_refuses_an_entry_whose_placeholders_differ_naming_the_file_entry_and_line(tmp_path):
    shutil.copytree(WORKFLOWS, tmp_path / "workflows")
    folder = tmp_path / "workflows"
    path = workflow_catalogues.catalogue_path("ar", folder)
    text = path.read_text("utf-8")
    assert 'msgstr "مؤتمر {conference_kind}: صوتك"' in text
    path.write_text(text.replace('msgstr "مؤتمر {conference_kind}: صوتك"', 'msgstr "مؤتمر {kind}: صوتك"'),
                    encoding="utf-8")
    line = next(i for i, row in enumerate(path.read_text("utf-8").splitlines(), start=1)
                if row == 'msgid "{conference_kind} conference: your vote"')
    problems = workflow_catalogues.check_catalogues(folder)
    assert [(p.file, p.element_id, p.line) for p in problems] == [
        ("translations/ar/LC_MESSAGES/workflows.po", "{conference_kind} conference: your vote", line)]
    assert "{kind}" in problems[0].message and "{conference_kind}" in problems[0].message
    with pytest.raises(SpecInvalid) as refused:
        deployment.deploy_directory(None, folder)  # refused before anything is read or written
    assert refused.value.file == "translations/ar/LC_MESSAGES/workflows.po" and refused.value.line == line


def test_a_stray_brace_or_an_unreadable_catalogue_is_refused_but_a_missing_translation_is_not(tmp_path):
    _catalogue(tmp_path, [("Decision", "", ""), ("Approve", "{موافقة", ""), ("Reject", "رفض", "fuzzy")])
    problems = workflow_catalogues.check_catalogues(tmp_path)
    assert [p.element_id for p in problems] == ["Approve"]
    broken = tmp_path / "other"
    path = _catalogue(broken, [("Decision", "القرار", "")])
    path.write_text(path.read_text("utf-8") + "\nnot a keyword\n", encoding="utf-8")
    problems = workflow_catalogues.check_catalogues(broken)
    assert len(problems) == 1 and problems[0].line is not None and "not a readable catalogue" in problems[0].message


def test_extract_adds_new_texts_untranslated_and_keeps_the_translations(tmp_path):
    shutil.copytree(WORKFLOWS, tmp_path / "workflows")
    folder = tmp_path / "workflows"
    form = folder / "forms" / "sample_follow_up.json"
    schema = json.loads(form.read_text("utf-8"))
    schema["description"] = "A brand-new description."
    form.write_text(json.dumps(schema), encoding="utf-8")
    workflow_catalogues.write_template(folder)
    arabic = {m.id: m for m in _read(workflow_catalogues.catalogue_path("ar", folder)) if m.id}
    assert arabic["A brand-new description."].string == ""
    assert arabic["Screen the referral"].string == "فرز الإحالة"
    assert [c.translated for c in workflow_catalogues.completeness(folder)] == [
        len([m for m in _read(folder / workflow_catalogues.TEMPLATE) if m.id]) - 1]
