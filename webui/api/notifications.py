"""In-app notifications: the caller's own, unread first; mark one or all read."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from engine.service_ops import notifications
from webui.api.bounds import page_limit, page_offset
from webui.auth import current_user_id
from webui.extensions import uow
from webui.idempotency import idempotent

blp = Blueprint("notifications", __name__, url_prefix="/api/notifications", description="In-app notifications")


class NotificationQuerySchema(Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only unread ones"})
    limit = page_limit(50, 200)
    offset = page_offset()


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    subject = fields.String()
    body = fields.String()
    case_code = fields.String(allow_none=True)
    link = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read = fields.Function(lambda n: n.read_at is not None)
    read_at = fields.DateTime(allow_none=True)
    mail_state = fields.String(metadata={"description": "none | pending | sending | sent | skipped | failed"})


class NotificationListSchema(Schema):
    notifications = fields.List(fields.Nested(NotificationSchema))
    total = fields.Integer()
    unread = fields.Integer(metadata={"description": "how many of the caller's notifications are unread"})


class MarkedSchema(Schema):
    marked = fields.Integer()


@blp.get("")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationListSchema)
def list_notifications(query):
    """My notifications: unread first, then newest first."""
    user_id = current_user_id()
    with uow() as work:
        page = notifications.list_notifications(work.session, user_id, unread_only=query["unread"],
                                                limit=query["limit"], offset=query["offset"])
        return {"notifications": page.items, "total": page.total, "unread": page.unread}


@blp.post("/<id:notification_id>/read")
@idempotent("mark_notification_read")
@blp.response(200, NotificationSchema)
def mark_read(notification_id):
    """Mark one of my notifications read (404 for anyone else's)."""
    user_id = current_user_id()
    with uow() as work:
        return notifications.mark_read(work, user_id, notification_id)


@blp.post("/read-all")
@idempotent("mark_notifications_read")
@blp.response(200, MarkedSchema)
def mark_all_read():
    """Mark all my notifications read."""
    user_id = current_user_id()
    with uow() as work:
        return {"marked": notifications.mark_all_read(work, user_id)}
