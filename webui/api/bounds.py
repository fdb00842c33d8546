"""The bounds every integer a caller sends is held to: ids in paths and queries, offsets, limits.

Why: SQLite stores integers in 64 bits and refuses a bigger Python int with an
OverflowError (a 500), PostgreSQL's ``integer`` columns stop at 2**31-1. Bounding each
integer where it enters — the path converter, the marshmallow field — turns an id out of
range into a 404 (no such thing) and a query value out of range into a 422, and puts the
bounds into the OpenAPI document so clients (and the fuzzer) know them.
"""
from __future__ import annotations

from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter, Map, PathConverter

ID_MAX = 2**31 - 1        # the largest id any table hands out (PostgreSQL ``integer``)
OFFSET_MAX = ID_MAX       # skipping more rows than any table can hold finds nothing anyway
PATH_ID = "id"            # the converter name: ``/<id:crisis_id>``
DRAFT_NAME = "draft_name"  # ``/<draft_name:filename>``: a draft's file name, slashes allowed
DRAFT_NAME_MAX = 255       # process_drafts.filename


class IdConverter(IntegerConverter):
    """``<id:name>``: a non-negative integer up to ``ID_MAX``; anything else matches no
    route, so it is a 404 like any id that names nothing."""

    def __init__(self, map: Map, max: int = ID_MAX) -> None:
        super().__init__(map, min=0, max=min(max, ID_MAX))


class DraftNameConverter(PathConverter):
    """``<draft_name:filename>``: a path (``tests/<name>.json``) of at most
    ``DRAFT_NAME_MAX`` characters, the length of its column; longer matches no route (a
    404). What a draft may be named is the use case's to say (a 422)."""
    regex = f"[^/].{{0,{DRAFT_NAME_MAX - 1}}}"


def draft_name_schema(converter: DraftNameConverter) -> dict:
    """The converter in the OpenAPI document (``Api.register_converter``)."""
    return {"type": "string", "maxLength": DRAFT_NAME_MAX}


def page_limit(default: int, most: int) -> fields.Integer:
    """A ``limit`` query parameter: 1..``most`` rows, ``default`` when absent."""
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=most),
                          metadata={"description": f"rows per page, 1 to {most}"})


def page_offset() -> fields.Integer:
    """An ``offset`` query parameter: rows to skip, 0..``OFFSET_MAX``."""
    return fields.Integer(load_default=0, validate=validate.Range(min=0, max=OFFSET_MAX),
                          metadata={"description": "rows to skip"})


# string path parameters, no longer than the column they are looked up in
CASE_CODE = "string(maxlength=40)"      # cases.code
TASK_ID = "string(maxlength=36)"        # human_tasks.id, the Spiff task UUID
PROCESS_ID = "string(maxlength=200)"    # process_models.process_id
