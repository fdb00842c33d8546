"""``python -m webui.cli workflow-texts check|extract``: no database needed; check says how
complete each language is and exits 1 when the template is stale."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from webui import cli

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def test_check_passes_on_the_repositorys_workflows(monkeypatch, capsys):
    monkeypatch.setenv("WORKFLOWS_DIR", str(WORKFLOWS))
    assert cli.main(["workflow-texts", "check"]) == 0
    assert "ar: " in capsys.readouterr().out


def test_check_fails_on_a_new_text_until_extract_adds_it(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, folder)
    form = folder / "forms" / "sample_approval.json"
    schema = json.loads(form.read_text("utf-8"))
    schema["title"] = "A title added today"
    form.write_text(json.dumps(schema), encoding="utf-8")
    monkeypatch.setenv("WORKFLOWS_DIR", str(folder))
    assert cli.main(["workflow-texts", "check"]) == 1
    assert "workflow-texts extract" in capsys.readouterr().err
    assert cli.main(["workflow-texts", "extract"]) == 0
    assert cli.main(["workflow-texts", "check"]) == 0  # the new text is there, untranslated: shown in English
    assert "A title added today" in (folder / "translations" / "ar" / "LC_MESSAGES" / "workflows.po").read_text()
