"""Crisis declarations and the BCP workflow."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("crises", __name__, url_prefix="/api/crises", description="Crisis declarations and the BCP workflow")
