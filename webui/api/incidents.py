"""Failed background jobs an admin can retry."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("incidents", __name__, url_prefix="/api/incidents", description="Failed background jobs an admin can retry")
