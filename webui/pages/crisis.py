"""Crisis pages: declare a disruption, the crisis dashboard (issue 7)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages_crisis", __name__, template_folder="templates")
