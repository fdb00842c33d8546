"""The attacks of the hardening issue, as an outsider (or a clumsy process owner) would send
them to the live app. Each attack may ``prepare`` once (a process owner uploads a
diagram) and then has ``steps``: requests repeated for as long as a bystander is measured.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

XMLNS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" '
         'targetNamespace="http://example.org/attack"')


def caseworker_process(process_id: str, name: str, body: str) -> str:
    """The definitions of one process named ``name`` that a caseworker may start, around its
    flow elements ``body``."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {XMLNS}>
  <bpmn:process id="{process_id}" name="{name}" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="start_roles" value="caseworker"/>
    </spiffworkflow:properties></bpmn:extensionElements>
{body}
  </bpmn:process>
</bpmn:definitions>"""


def script_process(process_id: str, script: str, extra: str = "") -> str:
    """A process a caseworker may start that runs one script on its start data."""
    return caseworker_process(process_id, f"Attack {process_id}", f"""\
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:scriptTask id="work" name="Work"{extra}><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>""")


def multi_instance_process(process_id: str) -> str:
    return caseworker_process(process_id, "Attack fan-out", """\
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="each"/>
    <bpmn:scriptTask id="each" name="Each">
      <bpmn:multiInstanceLoopCharacteristics isSequential="false">
        <bpmn:loopCardinality>n</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>x = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="end"/>
    <bpmn:endEvent id="end"/>""")


def loop_process(process_id: str) -> str:
    """A gateway loop a caseworker may start; the data decides how often it goes round."""
    return caseworker_process(process_id, "Attack loop", """\
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count"/>
    <bpmn:scriptTask id="count" name="Count"><bpmn:script>i = i + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="again"/>
    <bpmn:exclusiveGateway id="again" default="f_done"/>
    <bpmn:sequenceFlow id="f_loop" sourceRef="again" targetRef="count">
      <bpmn:conditionExpression>i &lt; rounds</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_done" sourceRef="again" targetRef="end"/>
    <bpmn:endEvent id="end"/>""")


def form_process(process_id: str) -> str:
    """A caseworker's task whose form is ``attack_pattern.json``."""
    return user_task_process(process_id, form="attack_pattern.json")


PATTERN_FORM = json.dumps({"type": "object", "required": ["code"],
                           "properties": {"code": {"type": "string", "pattern": "^(a+)+$"}}})


def timer_process(process_id: str, duration: str, startable: bool = False) -> str:
    """A process waiting at a timer of ``duration`` (an expression); ``startable``: by a caseworker."""
    roles = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="start_roles" '
             'value="caseworker"/></spiffworkflow:properties></bpmn:extensionElements>') if startable else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {XMLNS}>
  <bpmn:process id="{process_id}" name="Attack timer" isExecutable="true">{roles}
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:timerEventDefinition id="t"><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def huge_process(process_id: str, elements: int) -> str:
    tasks = "".join(f'<bpmn:scriptTask id="s{i}"><bpmn:script>x = {i}</bpmn:script></bpmn:scriptTask>'
                    f'<bpmn:sequenceFlow id="f{i}" sourceRef="{"start" if i == 0 else f"s{i - 1}"}" '
                    f'targetRef="s{i}"/>' for i in range(elements))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {XMLNS}>
  <bpmn:process id="{process_id}" isExecutable="true"><bpmn:startEvent id="start"/>{tasks}
    <bpmn:sequenceFlow id="fend" sourceRef="s{elements - 1}" targetRef="end"/><bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def big_table(rules: int) -> str:
    body = "".join(f'<rule id="r{i}"><inputEntry id="i{i}"><text>{i}</text></inputEntry>'
                   f'<outputEntry id="o{i}"><text>"x"</text></outputEntry></rule>' for i in range(rules))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="http://example.org">
  <decision id="attack_table" name="Attack table"><decisionTable id="t" hitPolicy="FIRST">
    <input id="in" label="n"><inputExpression id="ie" typeRef="integer"><text>n</text></inputExpression></input>
    <output id="out" name="label" typeRef="string"/>{body}
  </decisionTable></decision>
</definitions>"""


def user_task_process(process_id: str, after: str = "", due: str | None = None, form: str | None = None) -> str:
    """A caseworker's task (the generic done/comment form unless ``form`` names one), with a
    ``due`` and then a script ``after`` it if given."""
    properties = "".join(f'<spiffworkflow:property name="{name}" value="{value}"/>'
                         for name, value in (("due", due), ("form", form)) if value)
    task_properties = (f'<bpmn:extensionElements><spiffworkflow:properties>{properties}'
                       '</spiffworkflow:properties></bpmn:extensionElements>') if properties else ""
    script = (f'<bpmn:sequenceFlow id="f3" sourceRef="fill" targetRef="after"/>'
              f'<bpmn:scriptTask id="after" name="After"><bpmn:script>{after}</bpmn:script></bpmn:scriptTask>'
              f'<bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end"/>') if after else \
        '<bpmn:sequenceFlow id="f3" sourceRef="fill" targetRef="end"/>'
    return caseworker_process(process_id, f"Attack {process_id}", f"""\
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane" name="caseworker"><bpmn:flowNodeRef>fill</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>
    <bpmn:userTask id="fill" name="Fill in">{task_properties}</bpmn:userTask>
    {script}
    <bpmn:endEvent id="end"/>""")


def decision_process(process_id: str, decision_id: str) -> str:
    """A process a caseworker may start whose one task evaluates a decision table on its data."""
    return caseworker_process(process_id, f"Attack {process_id}", f"""\
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:businessRuleTask id="decide" name="Decide">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision_id}</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>
    <bpmn:endEvent id="end"/>""")


def gigabyte_cell_table(decision_id: str) -> str:
    """One rule whose output cell repeats a string as often as the data says."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="{decision_id}_defs" name="d"
  namespace="http://example.org/attack">
  <decision id="{decision_id}" name="Attack cell"><decisionTable id="{decision_id}_t" hitPolicy="FIRST">
    <input id="in" label="n"><inputExpression id="ie" typeRef="integer"><text>size</text></inputExpression></input>
    <output id="out" name="label" typeRef="string"/>
    <rule id="r"><inputEntry id="i"><text>-</text></inputEntry>
      <outputEntry id="o"><text>"x" * size</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>"""


@dataclass
class Attack:
    name: str
    make_steps: Callable[[object], list[Callable[[], object]]]
    uploads: dict[str, str] = field(default_factory=dict)

    def prepare(self, live) -> None:
        if self.uploads:
            answer = upload(live, self.uploads)
            assert answer.status == 201, answer.body

    def steps(self, live) -> list[Callable[[], object]]:
        return self.make_steps(live)


def upload(live, files: dict[str, str]):
    boundary = "attackboundary"
    parts = []
    for name, text in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n{text}\r\n")
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    return live.call("POST", "/api/process-models", raw=body, user="processowner1",
                     content_type=f"multipart/form-data; boundary={boundary}")


def start(process_id: str, data: dict, user: str = "caseworker1"):
    return lambda live: [lambda: live.call("POST", f"/api/processes/{process_id}/instances", {"data": data},
                                           user=user)]


def deploy(files: dict[str, str]):
    return lambda live: [lambda: upload(live, files)]


def fill_form_with_backtracking_text(live):
    def step():
        started = live.call("POST", "/api/processes/attack_form/instances", {"data": {}}, user="caseworker1")
        task = task_of(live, started, "attack_form")
        return live.call("POST", f"/api/tasks/{task['id']}/complete", {"data": {"code": "a" * 40 + "!"}},
                         user="caseworker1")
    return [step]


def task_of(live, started, process_id: str, user: str = "caseworker1") -> dict:
    """The task the instance ``started`` waits at, from ``user``'s claimable tasks."""
    tasks = live.call("GET", f"/api/tasks?scope=claimable&process_id={process_id}&limit=500", user=user)
    return next(t for t in tasks.body.get("tasks", []) if t["instance_id"] == started.body["id"])


def complete_then(process_id: str, data: dict | None = None, raw: bytes | None = None):
    """Start ``process_id`` and complete its task with ``data`` (or the ``raw`` body)."""
    def make(live):
        def step():
            started = live.call("POST", f"/api/processes/{process_id}/instances", {"data": {}}, user="caseworker1")
            task = task_of(live, started, process_id)
            return live.call("POST", f"/api/tasks/{task['id']}/complete", {"data": data}, raw=raw,
                             user="caseworker1")
        return [step]
    return make


def sign_in_as_someone_else(live):
    def guess(n: int):
        return lambda: live.call("POST", "/api/auth/token", {"username": "supervisor1", "password": f"guess{n}"})
    return [guess(n) for n in range(5)]


def bad_input(live):
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        lambda: live.call("POST", "/api/cases", raw=deep, user="caseworker1"),
        lambda: live.call("POST", "/api/cases", raw=b'{"referral": {"source": "ngo", "primary_concern": "\\ud800"},'
                                                     b' "client": {"name": "x"}}', user="caseworker1"),
        lambda: live.call("POST", "/api/processes/sample_intake/instances",
                          raw=b'{"data": {"n": ' + b"9" * 5001 + b"}}", user="caseworker1"),
        lambda: live.call("GET", f"/api/cases?offset={2**63}", user="caseworker1"),
        lambda: live.call("POST", f"/api/notifications/{2**63}/read", user="caseworker1"),
        lambda: live.call("POST", f"/api/incidents/{2**64}/retry", user="admin"),
        lambda: live.call("GET", f"/api/crises/{2**63}", user="crisislead1"),
    ]


ATTACKS = [
    Attack("duration from data", start("bcp_readiness_activity", {"activity": "crisis_drill",
                                                                  "every_days": "10000000Y1"})),
    Attack("someone else's crisis check", start("bcp_crisis_check", {"case_code": "CM-AAAA-BBBB",
                                                                     "check_assignee": "caseworker1"})),
    Attack("a timer of a billion years", deploy({"attack_timer.bpmn": timer_process("attack_timer",
                                                                                    '"P999999999Y"')})),
    Attack("a huge power from data", start("attack_power", {"a": 3, "b": 20_000_000}),
           {"attack_power.bpmn": script_process("attack_power", "r = a ** b")}),
    Attack("a huge repetition from data", start("attack_repeat", {"n": 2_000_000_000}),
           {"attack_repeat.bpmn": script_process("attack_repeat", "r = 'a' * n")}),
    Attack("summing lists", start("attack_sum", {"n": 120_000}),
           {"attack_sum.bpmn": script_process("attack_sum", "r = sum([[1]] * n, [])")}),
    Attack("a backtracking form pattern", fill_form_with_backtracking_text,
           {"attack_form.bpmn": form_process("attack_form"), "attack_pattern.json": PATTERN_FORM}),
    Attack("a fan-out of five thousand", start("attack_fanout", {"n": 5000}),
           {"attack_fanout.bpmn": multi_instance_process("attack_fanout")}),
    Attack("a loop two thousand deep", start("attack_loop", {"rounds": 2000, "i": 0}),
           {"attack_loop.bpmn": loop_process("attack_loop")}),
    Attack("a ten-thousand-element diagram", deploy({"attack_huge.bpmn": huge_process("attack_huge", 10_000)})),
    Attack("a four-thousand-rule table", deploy({"attack_table.dmn": big_table(4000)})),
    Attack("guessing another user's password", sign_in_as_someone_else),
    Attack("malformed and oversized input", bad_input),
    Attack("a due of a hundred thousand years", deploy({"attack_due.bpmn": user_task_process("attack_due",
                                                                                             due="P100000Y")})),
    Attack("readiness through the generic start", start("bcp_readiness_activity",
                                                        {"activity": "crisis_drill", "every_days": 30})),
    Attack("an augmented repetition", start("attack_augmented", {"x": "ab"}),
           {"attack_augmented.bpmn": script_process("attack_augmented", "x *= 1500000000")}),
    Attack("a gigabyte decision cell", start("attack_cell", {"size": 10**9}),
           {"attack_cell.bpmn": decision_process("attack_cell", "attack_cell_table"),
            "attack_cell_table.dmn": gigabyte_cell_table("attack_cell_table")}),
    Attack("a constant too big to compute", deploy({"attack_constant.bpmn": script_process("attack_constant",
                                                                                           "r = 3**(2*10**7)")})),
    Attack("task data five thousand deep", complete_then("attack_deep", raw=b'{"data": ' + b'{"a": ' * 5000 + b"1"
                                                         + b"}" * 5000 + b"}"),
           {"attack_deep.bpmn": user_task_process("attack_deep")}),
    Attack("timer and due values from data", lambda live: [
        *start("attack_timer_data", {"wait": "PT99999999999999999999H"})(live),
        *start("attack_due_data", {"due_hours": 1e300})(live)],
           {"attack_timer_data.bpmn": timer_process("attack_timer_data", "wait", startable=True),
            "attack_due_data.bpmn": user_task_process("attack_due_data", due="(due_hours)")}),
    Attack("a completion followed by a slow script", complete_then("attack_slow", {"done": True}),
           {"attack_slow.bpmn": user_task_process("attack_slow", after="n = 0\nwhile n &gt; -1:\n    n += 1")}),
]
