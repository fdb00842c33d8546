"""Every JSON body is read through one bounded parser, before any view sees it.

Why: Python's ``json`` recurses once per nesting level (a 100,000-deep body is a
RecursionError), fails on a 5,000-digit number with a ValueError, accepts ``NaN`` and
``Infinity``, and keeps a lone UTF-16 surrogate (``"\\ud800"``) that breaks later, when the
text is stored or encoded. Each of those used to be a 500.

What is promised, for every request with a JSON content type (API calls with a bearer
token and the pages' session calls alike), before its view runs:

- at most ``MAX_JSON_BYTES`` (413 otherwise; a declared length over it is refused unread);
- UTF-8, with no lone surrogate and no NUL character (U+0000, which PostgreSQL text cannot
  hold), escaped or not (400);
- arrays and objects nested at most ``MAX_DEPTH`` deep (400), checked by a scan of the raw
  text that respects strings and escapes, before the parser recurses;
- integers within ±2**53 (what every JSON reader agrees on) and finite numbers; the
  literals ``NaN``, ``Infinity`` and ``-Infinity`` refused (400).

The checks are a handful of passes over the text at C speed, so even a refusal of the
largest body is answered at once. ``loads_bounded`` is the same parser for JSON text that
arrives another way (a page's ``data_json`` form field).
"""
from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

from engine.errors import BadRequest

MAX_JSON_BYTES = 256 * 1024  # the longest text field is 4,000 characters; task data is ids and flags
MAX_DEPTH = 64
MAX_SAFE_INTEGER = 2**53
_MAX_INTEGER_DIGITS = len(str(MAX_SAFE_INTEGER))

_RAW_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_PAIR = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_NUL_ESCAPE = re.compile(r"\\u0000")
_STRING = re.compile(r'"[^"]*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONRefused(ValueError):
    """JSON text this service will not read; the message says why, for the sender."""


class JSONTooLarge(JSONRefused):
    """More JSON than ``MAX_JSON_BYTES``."""


def check_text(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse lone surrogates, NUL characters and nesting deeper than ``max_depth``, in a few
    linear passes over the raw text (regular expressions without backtracking, at C speed).

    Once every escaped backslash (``\\\\``) is gone, each remaining backslash escapes the
    character after it; once escaped quotes are gone too, every ``"`` opens or closes a
    string, so the brackets left outside strings are exactly the parser's structure.
    """
    if _RAW_SURROGATE.search(text):
        raise JSONRefused("the JSON holds a lone UTF-16 surrogate, which is no character")
    unescaped = text.replace("\\\\", "")
    if _SURROGATE_ESCAPE.search(_SURROGATE_PAIR.sub("", unescaped)):
        raise JSONRefused("the JSON holds a lone UTF-16 surrogate escape (\\ud800-\\udfff without its pair)")
    if "\0" in text or _NUL_ESCAPE.search(unescaped):
        raise JSONRefused("the JSON holds a NUL character (\\u0000), which no text here may contain")
    structure = _NOT_A_BRACKET.sub("", _STRING.sub("", unescaped.replace('\\"', "")))
    if len(structure) > max_depth and max(accumulate(map(_DEPTH_STEP.__getitem__, structure))) > max_depth:
        raise JSONRefused(f"the JSON nests arrays and objects more than {max_depth} levels deep")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_INTEGER_DIGITS or abs(number := int(digits)) > MAX_SAFE_INTEGER:
        raise JSONRefused(f"the JSON holds an integer beyond ±2**53 ({digits[:20]}…)")
    return number


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONRefused(f"the JSON holds a number too large to represent ({text[:20]}…)")
    return number


def _no_constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant)


def loads_bounded(data: str | bytes, max_size: int = MAX_JSON_BYTES) -> Any:
    """Parse JSON text (bytes: UTF-8, at most ``max_size`` bytes; text: characters) within
    the limits above, or raise ``JSONRefused`` (a ValueError) saying what is wrong."""
    if len(data) > max_size:
        raise JSONTooLarge(f"the JSON body is larger than {max_size // 1024} KiB")
    if isinstance(data, bytes | bytearray):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise JSONRefused(f"the JSON is not valid UTF-8 (byte {err.start})") from err
    else:
        text = data
    check_text(text)
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as err:
        raise JSONRefused(f"the body is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})") from err
    except RecursionError as err:  # the scan bounds depth; this only keeps a miss from becoming a 500
        raise JSONRefused(f"the JSON nests arrays and objects more than {MAX_DEPTH} levels deep") from err


class BoundedJSONProvider(DefaultJSONProvider):
    """``app.json``: every ``request.get_json()`` and ``flask.json.loads`` is bounded."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_bounded(s)


class BoundedJSONRequest(Request):
    """A refused JSON body is a 400 (413 when too large) in the API's error shape."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, JSONTooLarge):
            raise RequestEntityTooLarge(str(e))
        if isinstance(e, JSONRefused):
            raise BadRequest(str(e), errors={"body": [str(e)]})
        return super().on_json_loading_failed(e)


def _read_json_body() -> None:
    """Parse a JSON body once, before the view: refused here, it never reaches a view or
    webargs; accepted, it is cached for ``request.get_json()``."""
    if not request.is_json:
        return
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise RequestEntityTooLarge(f"the JSON body is larger than {MAX_JSON_BYTES // 1024} KiB")
    if request.get_data(cache=True):  # an empty body is "no fields sent": the schema says which are missing
        request.get_json()


def install(app: Flask) -> None:
    app.json = BoundedJSONProvider(app)
    app.request_class = BoundedJSONRequest
    app.before_request(_read_json_body)
