"""Properties of a whole process, set on its ``<bpmn:process>`` element.

A diagram says who may start it through the API::

    <bpmn:process id="sample_intake" isExecutable="true">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="start_roles" value="caseworker supervisor"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      ...

``start_roles`` is a list of roles (``engine.models.people.ROLES``) separated by spaces or
commas. A process without it is one the engine starts for itself (follow-ups, reviews,
crisis checks, readiness occurrences, the case-management process behind a referral): no
person can start it from outside, whatever their roles.

SpiffWorkflow's parser ignores extensions on the process element, so they are read here
from the parsed XML: :func:`check_bpmn` at deploy (step 4 of
``engine.bpmn.spec_parsing.parse_bundle``: unknown properties, a property given twice, an
empty value or a name that is not a role are refused with the file, element and line), and
:func:`start_roles` when the bundle's processes are built.
"""
from __future__ import annotations

import re

from lxml import etree

from engine.bpmn.dmn_check import Problem
from engine.bpmn.namespaces import NS, bpmn
from engine.models.people import ROLES

PROCESS_PROPERTIES = ("start_roles",)
_PROPERTY_PATH = "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
_SEPARATORS = re.compile(r"[\s,]+")


def _roles_in(value: str) -> list[str]:
    return [part for part in _SEPARATORS.split(value.strip()) if part]


def check_bpmn(name: str, root: etree._Element) -> list[Problem]:
    """Every problem with the process-level properties of every process in ``root``."""
    problems: list[Problem] = []
    for process in root.iter(bpmn("process")):
        process_id, seen = process.get("id"), set()
        for prop in process.iterfind(_PROPERTY_PATH, NS):
            key, value, line = prop.get("name"), prop.get("value"), prop.sourceline
            if key not in PROCESS_PROPERTIES:
                problems.append(Problem(name, process_id, line, f"process property {key!r} is not one of "
                                        f"{', '.join(PROCESS_PROPERTIES)}"))
                continue
            if key in seen:
                problems.append(Problem(name, process_id, line, f"process property {key!r} is given twice"))
                continue
            seen.add(key)
            roles = _roles_in(value or "")
            if not roles:
                problems.append(Problem(name, process_id, line, "start_roles is empty: name the roles that may "
                                        "start this process, or leave the property out (only the engine starts it)"))
            for role in roles:
                if role not in ROLES:
                    problems.append(Problem(name, process_id, line, f"start_roles names {role!r}, which is not a "
                                            f"role (one of {', '.join(ROLES)})"))
    return problems


def start_roles(root: etree._Element, process_id: str) -> tuple[str, ...]:
    """The roles that may start ``process_id`` (a process of ``root``) through the API, in
    the order of ``ROLES``; empty when only the engine starts it. Call it on a bundle that
    passed :func:`check_bpmn`."""
    for process in root.iter(bpmn("process")):
        if process.get("id") != process_id:
            continue
        named: set[str] = set()
        for prop in process.iterfind(_PROPERTY_PATH, NS):
            if prop.get("name") == "start_roles":
                named.update(_roles_in(prop.get("value") or ""))
        return tuple(role for role in ROLES if role in named)
    return ()
