"""Log lines of every process: JSON in production (or ``LOG_FORMAT=json``), readable text
embedded, each naming the request it belongs to; a host's own handler (dramatiq's pipe to
its parent) is reused, never doubled."""
from __future__ import annotations

import io
import json
import logging

import pytest

from engine.infra import logs, request_ids


@pytest.fixture
def root():
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    root.handlers = []
    yield root
    root.handlers, root.level = saved, level


def test_production_writes_json_lines_with_the_request_id(root):
    stream = io.StringIO()
    logs.configure({"APP_ENV": "production"}, stream)
    with request_ids.bound("req-7"):
        logging.getLogger("engine.case").info("case %s opened", "C-1", extra={"case_code": "C-1"})
    logging.getLogger("engine.case").warning("outside any request")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "case C-1 opened" and first["request_id"] == "req-7"
    assert first["level"] == "INFO" and first["logger"] == "engine.case" and first["case_code"] == "C-1"
    assert second["request_id"] == "-" and "time" in second


@pytest.mark.parametrize(("env", "json_lines"), [({}, False), ({"LOG_FORMAT": "json"}, True),
                                                 ({"APP_ENV": "production", "LOG_FORMAT": "text"}, False)])
def test_the_format_follows_the_mode_unless_chosen(root, env, json_lines):
    stream = io.StringIO()
    logs.configure(env, stream)
    logging.getLogger("x").info("hello")
    line = stream.getvalue().strip()
    assert line.startswith("{") is json_lines and "hello" in line


def test_a_hosts_handler_gets_the_format_and_no_second_handler_is_added(root):
    host = io.StringIO()
    root.addHandler(logging.StreamHandler(host))
    logs.configure({"LOG_FORMAT": "json"})
    logs.configure({"LOG_FORMAT": "json"})  # twice: still one line per event
    with request_ids.bound("job-req"):
        logging.getLogger("tasks.jobs").info("job 3 started")
    lines = host.getvalue().splitlines()
    assert not any(isinstance(h, logs._ServiceHandler) for h in root.handlers)
    assert len(lines) == 1 and json.loads(lines[0])["request_id"] == "job-req"


@pytest.mark.parametrize(("value", "ok"), [("abc-1.2:x_y", True), ("a" * 64, True), ("a" * 65, False),
                                           ("", False), ("two words", False), ("-leading", False),
                                           ("line\nbreak", False), (None, False)])
def test_only_well_formed_request_ids_are_taken(value, ok):
    assert request_ids.well_formed(value) is ok


def test_a_step_of_the_engine_logs_no_task_data_R32(root):
    """SpiffWorkflow logs each task's change of state with the task's data at INFO: a
    child's case would end up in every production log line."""
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.bpmn import spec_parsing
    from engine.infra import bootstrap  # noqa: F401 - registers the operations the diagrams call
    from engine.settings import PROJECT_ROOT

    stream = io.StringIO()
    spiff = logging.getLogger("spiff")
    saved = spiff.level
    try:
        logs.configure({"APP_ENV": "production"}, stream)
        bundle = spec_parsing.parse_bundle(spec_parsing.load_directory(PROJECT_ROOT / "workflows"))
        parsed = bundle.processes["sample_intake"]
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
        workflow.get_tasks()[0].data["client_name"] = "Amal Haddad"
        workflow.do_engine_steps()
    finally:
        spiff.setLevel(saved)
    assert "Amal Haddad" not in stream.getvalue()
    assert "State changed" not in stream.getvalue()
