"""Stored English shown in the reader's language: the case timeline's summaries, the
sub-functions' and crises' words inside them, the messages written before a reader chose a
language — texts the engine wrote once, in English, and keeps as they are (the audit chain
and the case file are never rewritten).

``in_language(text, language)`` finds the text's catalogue entry when it is shown: a text that
is a msgid of its own (``N_`` here or anywhere the page catalogue reads), else one of the
``TEMPLATES`` below with its values filled in — matched on the English the engine wrote, or on
the template's translation when the text was written in its reader's language with English
values in it (a task's title in "New task: …") — each value shown in the language too (a stored
value such as ``admission`` by its vocabulary's label), else the workflows' catalogue (process
names, task titles). Matching a template is plain string search over its fixed parts (no
regular expressions, so no backtracking); what matches nothing is shown as it was stored.
"""
from __future__ import annotations

import datetime as dt
import functools

from babel.dates import format_date

from engine.models.base import vocabularies
from engine.models.crisis import SubFunction
from engine.people.languages import DEFAULT_LANGUAGE, known_language
from engine.process import workflow_catalogues
from engine.service_ops import error_texts
from engine.service_ops.translations import N_, translations_for, when

# The timeline's summaries with values in them (engine.case, engine.committee): most specific first.
TEMPLATES = (
    N_("risk level %(before)s → %(after)s: %(why)s"),
    N_("status %(before)s → %(after)s: %(why)s"),
    N_("stage %(before)s → %(after)s"),
    N_("referral received from %(source)s"),
    N_("screened: %(result)s"),
    N_("initial assessment: %(red)s red, %(yellow)s yellow needs, suggested %(level)s"),
    N_("review assessment: %(red)s red, %(yellow)s yellow needs, suggested %(level)s"),
    N_("risk level judged %(level)s"),
    N_("first action after the risk rating: %(action)s"),
    N_("%(kind)s conference opened with %(count)s members"),
    N_("%(kind)s conference: %(outcome)s (%(approvals)s of %(votes)s votes to approve, %(members)s members)"),
    N_("%(kind)s conference decided by the director: %(outcome)s"),
    N_("%(member)s voted %(vote)s (%(kind)s conference)"),
    N_("caseworker %(caseworker)s assigned (%(why)s); supervisor %(supervisor)s"),
    N_("case plan %(status)s"),
    N_("closure requested: %(reason)s"),
    N_("closure review: %(vote)s"),
    N_("closure not made: %(why)s"),
    N_("case review: %(outcome)s"),
    N_("follow-up: contact %(contact)s"),
    N_("referral to %(provider)s: %(outcome)s"),
    N_("referred to %(provider)s for %(service)s (consent to share given)"),
    N_("incident recorded: %(reason)s"),
    N_("case urgent: %(reason)s"),
    N_("still urgent: %(reason)s"),
    N_("no longer urgent: %(why)s"),
    N_("Disruption declared: %(kind)s affecting %(functions)s"),
    N_("Disruption declared (%(kind)s), affecting %(functions)s: %(description)s"),
    N_("Drill declared: %(kind)s affecting %(functions)s"),
    N_("Drill declared (%(kind)s), affecting %(functions)s: %(description)s"),
    N_("This is a DRILL: no client is contacted and no live case record changes. "
       "Essential services must resume by %(when)s. %(rest)s"),
    N_("Essential services must resume by %(when)s. %(rest)s"),
    N_("Essential services must resume by %(when)s (T+24 h)."),
    # the disruption log's entries the workflow writes (engine.crisis: declaration, fanout, availability)
    N_("%(what)s: a crisis check each, high-risk, in-crisis and pending/under-review cases first. "
       "Follow-ups due or missed during the disruption: %(follow_ups)s."),
    N_("%(count)s open case affected"), N_("%(count)s open cases affected"),
    N_("%(count)s more open case newly covered by the scope"),
    N_("%(count)s more open cases newly covered by the scope"),
    N_("%(found)s found, %(reassigned)s reassigned to available staff, %(released)s handed back to their role, "
       "%(kept)s kept by available staff"),
    N_("Crisis Communication Lead: %(username)s."),
    N_("Resumption NOT confirmed by the T+24 h deadline (%(when)s): escalated to the director."),
    N_("BCP updated after the lessons learned: %(changes)s"), N_("BCP reviewed, not changed: %(changes)s"),
    N_("Drill — %(title)s"),
    # messages written in their reader's language with a task's English title in them
    N_("New task: %(title)s (case %(code)s)"), N_("New task: %(title)s"),
    # the crisis fan-out's message to each person with checks (engine.crisis.fanout)
    N_("Drill: Crisis checks for you (disruption #%(id)s)"), N_("Crisis checks for you (disruption #%(id)s)"),
    # what a task decides (engine.case.decision_context): its one-line subjects and facts
    N_("Case plan submitted %(day)s"),
    N_("Closure requested: %(reason)s"),
    N_("%(kind)s conference on case %(code)s, opened %(day)s"),
    N_("Referral to %(provider)s for %(service)s"),
    N_("Case review of case %(code)s"),
    N_("%(yellow)s yellow needs and %(red)s red: judge the level"),
    N_("%(votes)s: %(approvals)s approve, %(rejections)s reject"),
    N_("%(provider)s — %(service)s (%(consent)s)"),
    N_("%(instructions)s Your crisis checks are first in your inbox: reach each client, confirm they are safe "
       "and record how their care is affected."),
)

# Summaries with nothing to fill in (written by the diagrams' steps and the case operations).
FIXED = (
    N_("consent given; case registered"), N_("registered on a legal mandate"),
    N_("comprehensive assessment started"), N_("comprehensive assessment completed"),
    N_("case plan submitted for approval"), N_("interim case plan made"),
    N_("The case"), N_("The closure request"), N_("The votes"), N_("The referral"), N_("The last review"),
    N_("The needs the rating counted"), N_("Restore check"), N_("The case before the committee"),
    N_("The case plan to approve"), N_("The plan in force"),
    N_("The plan that was sent back"), N_("The supervisor sent the case plan back: revise it"),
    N_("Revise the case plan"), N_("The last restore check of a backup"), N_("none in this plan"),
    N_("consent to share given"), N_("no consent to share"), N_("Not rated yet"), N_("Not rated"),
    N_("intervened"), N_("within the caseload cap"), N_("eligible"), N_("not eligible"), N_("unrated"), N_("none"),
    N_("another referral received for this case"), N_("file audited by the supervisor"),
    N_("turned 18: aged out, a transition plan is due"), N_("aged-out case kept open by agreement"),
    N_("client briefed on the change of caseworker"), N_("handover: the case no longer needs moving"),
    N_("Resumption of essential services confirmed. Recovery begins."),
    N_("Resumption of essential services confirmed (after the T+24 h deadline). Recovery begins."),
    N_("Recovery complete: crisis closed."),
    N_("Reach each client, confirm their safety and record how their care is affected. "
       "High-risk cases are due first; they are at the top of your inbox."),
    N_("Your crisis checks are first in your inbox: reach each client, confirm they are safe "
       "and record how their care is affected."),
    N_("legal mandate recorded: registration without consent"), N_("%(first)s and %(last)s"), N_("%(when)s UTC"),
    N_("no legal mandate: the case is not registered"),
)


# How the summaries that begin with a stored value's words read in English: as the pages word
# them ("stage screening → admission" as "Stage: Screening → Admission"), each value by its label.
# The names after each are values inside a sentence, shown in lower case ("voted to approve").
IN_ENGLISH: dict[str, tuple[str, tuple[str, ...]]] = {
    "risk level %(before)s → %(after)s: %(why)s": ("Risk level: %(before)s → %(after)s: %(why)s", ("why",)),
    "status %(before)s → %(after)s: %(why)s": ("Status: %(before)s → %(after)s: %(why)s", ("why",)),
    "stage %(before)s → %(after)s": ("Stage: %(before)s → %(after)s", ()),
    "referral received from %(source)s": ("Referral received from %(source)s", ("source",)),
    "screened: %(result)s": ("Screened: %(result)s", ("result",)),
    "initial assessment: %(red)s red, %(yellow)s yellow needs, suggested %(level)s":
        ("Initial assessment: %(red)s red, %(yellow)s yellow needs, suggested %(level)s", ("level",)),
    "review assessment: %(red)s red, %(yellow)s yellow needs, suggested %(level)s":
        ("Review assessment: %(red)s red, %(yellow)s yellow needs, suggested %(level)s", ("level",)),
    "risk level judged %(level)s": ("Risk level judged %(level)s", ("level",)),
    "first action after the risk rating: %(action)s": ("First action after the risk rating: %(action)s", ()),
    "%(kind)s conference: %(outcome)s (%(approvals)s of %(votes)s votes to approve, %(members)s members)":
        ("%(kind)s conference: %(outcome)s (%(approvals)s of %(votes)s votes to approve, %(members)s members)",
         ("outcome",)),
    "%(kind)s conference decided by the director: %(outcome)s":
        ("%(kind)s conference decided by the director: %(outcome)s", ("outcome",)),
    "%(member)s voted %(vote)s (%(kind)s conference)":
        ("%(member)s voted to %(vote)s (%(kind)s conference)", ("vote", "kind")),
    "caseworker %(caseworker)s assigned (%(why)s); supervisor %(supervisor)s":
        ("Caseworker %(caseworker)s assigned (%(why)s); supervisor %(supervisor)s", ("why",)),
    "case plan %(status)s": ("Case plan %(status)s", ("status",)),
    "closure requested: %(reason)s": ("Closure requested: %(reason)s", ("reason",)),
    "closure review: %(vote)s": ("Closure review: %(vote)s", ("vote",)),
    "closure not made: %(why)s": ("Closure not made: %(why)s", ()),
    "case review: %(outcome)s": ("Case review: %(outcome)s", ("outcome",)),
    "follow-up: contact %(contact)s": ("Follow-up: contact %(contact)s", ("contact",)),
    "referral to %(provider)s: %(outcome)s": ("Referral to %(provider)s: %(outcome)s", ("outcome",)),
    "referred to %(provider)s for %(service)s (consent to share given)":
        ("Referred to %(provider)s for %(service)s (consent to share given)", ()),
    "incident recorded: %(reason)s": ("Incident recorded: %(reason)s", ()),
    "case urgent: %(reason)s": ("Case urgent: %(reason)s", ()),
    "still urgent: %(reason)s": ("Still urgent: %(reason)s", ()),
    "no longer urgent: %(why)s": ("No longer urgent: %(why)s", ()),
}
# Stored words that are no vocabulary's value, as the pages write them in English.
ENGLISH_WORDS = {"unrated": N_("Not rated")}
# Names whose values are people, codes, titles, counts and times (written in English already):
# shown as written, never read as a stored value (a user called "admin" is not "Administrator").
AS_WRITTEN = frozenset({"member", "caseworker", "supervisor", "username", "code", "id", "title", "provider",
                        "service", "count", "red", "yellow", "approvals", "votes", "members", "when", "day"})


def in_language(text: str | None, language: str | None) -> str:
    """``text`` (stored English) as a reader of ``language`` reads it (an English reader
    sees the summaries with their values by their labels too)."""
    if not text or not known_language(language):
        return text or ""
    if language == DEFAULT_LANGUAGE:
        return _in_english(text, depth=0)
    return _remembered(text, str(language))


@functools.lru_cache(maxsize=8192)
def _in_english(text: str, depth: int) -> str:
    """A summary in English as the pages word it; a text that is none of them as it was written."""
    if text in ENGLISH_WORDS:
        return ENGLISH_WORDS[text]
    if text in _fixed():  # a summary of its own begins as a sentence; a value inside one stays as it is
        return text[:1].upper() + text[1:] if depth == 0 else text
    for template in TEMPLATES if depth < 4 else ():
        values = filled(template, text)
        if values is not None:
            shown, in_sentence = IN_ENGLISH.get(template, (template, ()))
            return shown % {name: _english_value(name, value, name in in_sentence, depth + 1)
                            for name, value in values.items()}
    return text


def _english_value(name: str, value: str, in_sentence: bool, depth: int) -> str:
    if not value or name in AS_WRITTEN:
        return value
    shown = _label(value, DEFAULT_LANGUAGE) or _in_english(value, depth)
    if in_sentence and not shown[1:2].isupper():  # "Goals met and …" inside a sentence; "IT failure" kept
        return shown[:1].lower() + shown[1:]
    return shown


@functools.cache
def _fixed() -> frozenset[str]:
    return frozenset(FIXED)


_MEMO_SIZE = 8192
_memo: dict[tuple[str, str], str] = {}
_memo_for: dict[str, object] = {}  # the workflows' catalogue each language's memo was made with


def _remembered(text: str, language: str) -> str:
    """A text is looked up once (a timeline repeats its summaries, every page its banner)
    until the workflows' catalogue of its language is read again (it changed on disk)."""
    current = workflow_catalogues.words(language)
    if _memo_for.get(language) is not current:
        for key in [key for key in _memo if key[1] == language]:
            _memo.pop(key, None)
        _memo_for[language] = current
    found = _memo.get((text, language))
    if found is None:
        found = _translated(text, language, depth=0)
        if len(_memo) < _MEMO_SIZE:
            _memo[(text, language)] = found
    return found


def _translated(text: str, language: str, depth: int) -> str:
    found = translations_for(language).gettext(text)
    if found != text:
        return found
    label = _label(text, language)
    if label is not None:
        return label
    found = workflow_catalogues.translate(text, language)
    if found != text:
        return found
    if depth < 4:
        for template in _templates():
            translated = translations_for(language).gettext(template)
            # the English as the engine wrote it, or the reader's own words with English values in them
            values = filled(template, text) or filled(translated, text)
            if values is not None:
                return translated % {name: _value(name, value, language, depth + 1) for name, value in values.items()}
    return workflow_catalogues.task_title(text, language)


def _value(name: str, value: str, language: str, depth: int) -> str:
    if not value:
        return value
    if name == "functions":  # "5.1 Client Intake & Assessment and 5.4 Monitoring & Follow-up"
        first, _, last = value.rpartition(" and ")
        items = [*(first.split(", ") if first else []), last]
        shown = [_translated(item, language, depth) for item in items]
        joined = translations_for(language).gettext(", ").join(shown[:-1])
        return translations_for(language).gettext("%(first)s and %(last)s") % {"first": joined, "last": shown[-1]} \
            if len(shown) > 1 else shown[0]
    if name == "when":
        return _moment(value, language)
    if name == "day":
        return _day(value, language)
    return _label(value, language) or _translated(value, language, depth)  # a stored value: its label first


def _moment(value: str, language: str) -> str:
    """``3 Mar 2026, 09:00 UTC`` (engine.crisis.labels.when_text) as the pages write a time."""
    try:
        moment = dt.datetime.strptime(value, "%d %b %Y, %H:%M UTC").replace(tzinfo=dt.UTC)
    except ValueError:
        return value
    return translations_for(language).gettext("%(when)s UTC") % {"when": when(language, moment)}


def _day(value: str, language: str) -> str:
    """``02 Mar 2026`` (a day the engine wrote in a sentence) as the pages write a day."""
    try:
        day = dt.datetime.strptime(value, "%d %b %Y").date()
    except ValueError:
        return value
    return format_date(day, "dd MMM y", locale=language)


def _label(value: str, language: str) -> str | None:
    """A stored value (``admission``; ``goals met`` written for ``goals_met``) by its label,
    a sub-function by its code and label (``5.4 Monitoring & Follow-up``)."""
    label = _labels().get(value) or _labels().get(value.replace(" ", "_"))
    if label is not None:
        return translations_for(language).gettext(label)
    code, _, rest = value.partition(" ")
    if code in SubFunction.values() and rest == SubFunction.label_of(code):
        return f"{code} {translations_for(language).gettext(rest)}"
    return None


@functools.cache
def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for words in vocabularies().values():
        for member in words:
            labels.setdefault(member.value, member.label)
            labels.setdefault(member.label, member.label)
            labels.setdefault(member.label.lower(), member.label)
    return labels


@functools.cache
def _templates() -> tuple[str, ...]:
    """The summaries first, then the use cases' messages with values in them, the ones with more
    fixed words first ("no case %(code)s in a handover of yours" before "no case %(code)s")."""
    return TEMPLATES + tuple(sorted(error_texts.TEMPLATES, key=lambda template: -len("".join(_parts(template)[0]))))


@functools.cache
def _parts(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``"stage %(a)s → %(b)s"`` as its fixed parts ``("stage ", " → ", "")`` and names ``("a", "b")``."""
    fixed, names, rest = [], [], template
    while "%(" in rest:
        before, _, after = rest.partition("%(")
        name, _, rest = after.partition(")s")
        fixed.append(before)
        names.append(name)
    fixed.append(rest)
    return tuple(fixed), tuple(names)


def filled(template: str, text: str) -> dict[str, str] | None:
    """The values that make ``template`` read ``text``, or None. Each value ends at the first
    place its following fixed part is found (the last one at the text's end)."""
    fixed, names = _parts(template)
    if not names or not text.startswith(fixed[0]) or not text.endswith(fixed[-1]):
        return None
    end = len(text) - len(fixed[-1])
    at, values = len(fixed[0]), {}
    for index, name in enumerate(names):
        following = fixed[index + 1]
        if index == len(names) - 1:
            stop = end
        else:
            stop = text.find(following, at, end) if following else -1
        if stop < at or (stop == at and following):
            return None
        values[name] = text[at:stop]
        at = stop + len(following)
    return values
