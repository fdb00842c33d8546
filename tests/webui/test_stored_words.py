"""What the engine stored in English, shown in the reader's language
(``engine.process.stored_texts``): a stored summary is matched to its catalogue entry by plain
string search and its values are translated too; what matches nothing stays as it was; the
JSON API's error messages are English unless the user chose Arabic."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from engine.models import User
from engine.process.stored_texts import TEMPLATES, filled, in_language


def test_a_stored_summary_and_its_values_read_in_arabic():
    assert in_language("stage screening → admission", "ar") == "المرحلة: من الفرز إلى القبول"
    assert in_language("screened: eligible", "ar") == "نتيجة الفرز: مؤهّلة"
    assert in_language("risk level unrated → high: initial assessment: 1 red, 0 yellow needs, suggested high",
                       "ar") == ("مستوى الخطر: من غير مصنّف إلى مرتفع: التقييم الأولي: 1 احتياجات حمراء و0 صفراء، "
                                 "والمستوى المقترح مرتفع")
    assert in_language("closure requested: goals met", "ar") == "طُلب الإغلاق: تحققت الأهداف والطفل في أمان"


def test_a_stored_summary_reads_in_english_with_its_values_by_their_labels():
    assert in_language("stage screening → admission", "en") == "Stage: Screening → Admission"
    assert in_language("supervisor1 voted approve (admission conference)", "en") == (
        "supervisor1 voted to approve (admission conference)")
    assert in_language("risk level unrated → medium: judged", "en") == "Risk level: Not rated → Medium: judged"
    assert in_language("referral received from community_member", "en") == (
        "Referral received from a member of the community")
    assert in_language("admin voted reject (closure conference)", "en") == "admin voted to reject (closure conference)"


def test_unknown_texts_stay_as_they_were():
    assert in_language("back to school, weekly visits", "en") == "back to school, weekly visits"
    assert in_language("stage screening → admission", None) == "stage screening → admission"
    assert in_language("back to school, weekly visits", "ar") == "back to school, weekly visits"
    assert in_language("", "ar") == ""


def test_a_message_written_in_arabic_gets_its_english_title_translated():
    written = "مهمة جديدة: Approve the case plan (الحالة CM-7QXR-2KPM)"
    assert in_language(written, "ar") == "مهمة جديدة: الموافقة على خطة الحالة (الحالة CM-7QXR-2KPM)"


def test_matching_is_plain_search_without_backtracking():
    assert filled("stage %(before)s → %(after)s", "stage a → b") == {"before": "a", "after": "b"}
    assert filled("stage %(before)s → %(after)s", "phase a → b") is None
    long_text = "stage " + "→ " * 20_000 + "x"
    started = time.perf_counter()
    for template in TEMPLATES:
        filled(template, long_text)
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_api_answers_errors_in_arabic_only_to_a_user_who_chose_it(app, client, token_for):
    headers = token_for("caseworker1")
    english = client.get("/api/tasks?scope=team", headers=headers).get_json()
    assert english["message"] == "only supervisors and directors have a team inbox"
    assert client.get("/api/tasks?scope=team", headers={**headers, "Accept-Language": "ar"}).get_json()[
        "message"] == english["message"]  # a program's Accept-Language changes nothing
    with app.extensions["engine_ctx"].session_factory() as session:
        session.scalars(select(User).where(User.username == "caseworker1")).one().locale = "ar"
        session.commit()
    arabic = client.get("/api/tasks?scope=team", headers=headers).get_json()
    assert arabic["error"] == english["error"] == "forbidden"
    assert arabic["message"] == "صندوق مهام الفريق للمشرفين والمديرين فقط"
