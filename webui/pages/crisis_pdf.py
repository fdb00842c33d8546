"""The disruption report as a PDF, printed by headless Chromium from the report's own
HTML (print CSS; no PDF library to install or keep up to date).

The page is rendered to a self-contained HTML file (styles inline, no links to the app,
nothing loaded from the network), which Chromium prints in a throwaway profile with a time
limit. Where no Chromium is installed the page says so and the HTML report's print view
(the browser's "Save as PDF") is the way out.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.crisis import declaration as crisis_service
from engine.crisis import disruption_report
from webui.extensions import uow
from webui.pages.common import require_roles
from webui.pages.crisis import bp

PRINT_SECONDS = 60
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--disable-extensions", "--no-pdf-header-footer")


class PdfUnavailable(Exception):
    """No Chromium to print with, or it failed (the reason is in the message)."""


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str) -> bytes:
    """Print ``html`` (a self-contained page) to PDF bytes."""
    browser = chromium_path()
    if browser is None:
        raise PdfUnavailable("no Chromium is installed on the server")
    with tempfile.TemporaryDirectory(prefix="crisis-report-") as folder:
        source, target = Path(folder) / "report.html", Path(folder) / "report.pdf"
        source.write_text(html, encoding="utf-8")
        command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={Path(folder) / 'profile'}",
                   f"--print-to-pdf={target}", source.as_uri()]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=PRINT_SECONDS)
        except (OSError, subprocess.SubprocessError) as err:
            raise PdfUnavailable(f"Chromium could not print the report ({type(err).__name__})") from err
        if not target.exists() or target.stat().st_size == 0:
            raise PdfUnavailable("Chromium printed nothing")
        return target.read_bytes()


@bp.get("/crisis/<id:crisis_id>/report.pdf")
@require_roles(*crisis_service.CASE_LIST_ROLES)
def report_pdf(crisis_id: int):
    """The disruption report as a PDF download."""
    with uow() as work:
        data = disruption_report.disruption_report(work, current_user.id, crisis_id)
    html = render_template("crisis_report_pdf.html", report=data, crisis=data["crisis"])
    try:
        pdf = html_to_pdf(html)
    except PdfUnavailable as err:
        flash(_("The PDF cannot be made here (%(why)s): print this page and choose “Save as PDF”.", why=err), "error")
        return redirect(url_for("pages_crisis.report", crisis_id=crisis_id))
    name = f"{'drill' if data['crisis'].drill else 'disruption'}-report-{crisis_id}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})
