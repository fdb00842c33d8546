"""Cases: referrals, case files (need-to-know)."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("cases", __name__, url_prefix="/api/cases", description="Cases: referrals, case files (need-to-know)")
