"""Which files a file audit checks (R30, 004 §6.6: 3 to 5 files per caseworker at most
every three months).

The files are drawn at random among the caseworker's active cases, but reproducibly: the
draw is seeded by the caseworker and the period, so drawing again for the same caseworker
and period gives the same files (an auditor, or a later check, can see the sample was not
picked by hand). How many: a number between DMN ``supervision_cadence``'s ``files_min`` and
``files_max``, drawn with the same seed, never more than the caseworker has.
"""
from __future__ import annotations

import hashlib
import random

from sqlalchemy import select

from engine.models import Case
from engine.models.case import ACTIVE_STATUSES


def sample_seed(caseworker: str, period: str) -> str:
    return f"file_audit:{caseworker}:{period}"


def sample_files(case_codes: list[str], caseworker: str, period: str, files_min: int, files_max: int) -> list[str]:
    """The files to audit: the same for the same caseworker, period and caseload."""
    seed = int.from_bytes(hashlib.sha256(sample_seed(caseworker, period).encode()).digest()[:8], "big")
    draw = random.Random(seed)  # a reproducible sample, not a secret
    size = min(draw.randint(files_min, max(files_min, files_max)), len(case_codes))
    return sorted(draw.sample(sorted(case_codes), size))


def active_case_codes(session, caseworker_id: int) -> list[str]:
    return list(session.scalars(select(Case.code).where(Case.caseworker_id == caseworker_id,
                                                        Case.status.in_(ACTIVE_STATUSES)).order_by(Case.code)))
