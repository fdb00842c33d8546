"""Decisions the pages ask about while a person fills in a form: the risk level the
rating form suggests as needs are ticked."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.process import decision_suggestions
from webui.auth import current_user_id
from webui.extensions import runtime, uow

blp = Blueprint("decisions", __name__, url_prefix="/api/decisions", description="Decision suggestions")

_NEED = fields.String(validate=validate.Length(min=1, max=decision_suggestions.MAX_CODE_LENGTH))


class RiskSuggestSchema(Schema):
    red_needs = fields.List(_NEED, required=True, validate=validate.Length(max=decision_suggestions.MAX_NEEDS))
    yellow_needs = fields.List(_NEED, required=True, validate=validate.Length(max=decision_suggestions.MAX_NEEDS))


class RiskSuggestionSchema(Schema):
    risk_level = fields.String()
    needs_judgement = fields.Boolean()


@blp.post("/risk_level/suggest")
@blp.arguments(RiskSuggestSchema)
@blp.response(200, RiskSuggestionSchema)
def suggest_risk_level(body):
    """The risk level the deployed risk_level table gives these needs (nothing is stored)."""
    user_id = current_user_id()
    with uow() as work:
        return decision_suggestions.suggest_risk_level(work.session, runtime(), user_id, body["red_needs"],
                                                       body["yellow_needs"])
