"""The run-time half of the sandbox policy: size guards put in front of every operation
that one C-level call can make huge.

The cooperative deadline of ``engine.bpmn.sandbox`` only ticks in loops: a single
``3 ** (2 * 10**7)``, ``'a' * n`` or ``sum(lists, [])`` would run (and allocate) to the
end, whatever the time limit. So, as RestrictedPython's guarded operators do, the sandbox
rewrites the code it compiles (``engine.bpmn.sandbox_rewrite``) to call a helper here
instead, and the helper refuses with :class:`SandboxLimitExceeded` *before* the operation
when its result would be too big. The bounds:

* sequences (``str``, ``bytes``, ``list``, ``tuple``) of more than :data:`MAX_ITEMS`
  items or characters: ``s * n``, ``a + b``, ``a.extend(b)``, ``sep.join(parts)``,
  ``s.replace(old, new)``, ``s.ljust(n)``/``rjust``/``center``/``zfill``, ``[*a, *b]``,
  ``a[i:j] = b``, f-strings, ``str(x)`` and ``%`` of a large container;
  ``sum(items, [])`` joins at most :data:`MAX_SUM_PARTS` parts, in linear time (natively
  it is quadratic: ``sum([[1]] * 120000, [])`` froze the process for 6-8 s);
* integers of more than :data:`MAX_INT_BITS` bits, exponents and shift counts above
  :data:`MAX_EXPONENT`: ``a ** b``, ``a * b``, ``a << b``;
* format widths and precisions of a million or more given at run time
  (``f"{x:{width}}"``, ``fmt % x`` with a ``fmt`` built from data);
* comparisons that could read more than :data:`MAX_COMPARED` characters: ``==``, ``<``,
  ``in`` (every operand of a comparison), ``sorted``/``min``/``max``, ``list.sort``,
  ``count``, ``index``, ``remove`` of a list or tuple of more than 1,000 items. A list of a million
  references to one long string is cheap to build (and within MAX_ITEMS), but comparing it
  with an equal copy, or sorting it, reads every character a million times over;
* the augmented forms (``x *= n``, ``d[k] += s``...) go through the same helpers; an
  augmented ``+=`` on a list still extends it in place.

Operations on two constants are left alone: the static checks bound those at deploy.
Every helper name starts with ``_sandbox_``, which scripts cannot spell (names starting
with ``_`` are refused), and lives in the sandbox's builtins.
"""
from __future__ import annotations

import builtins
import math
import operator
import re
from collections.abc import Callable, Iterable, Sized
from typing import Any

MAX_ITEMS = 10**6
MAX_EXPONENT = 10_000
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_SUM_PARTS = 10_000  # lists or tuples one sum() may join
MAX_COMPARED = 1000 * MAX_ITEMS  # characters one comparison, search or sort may read (well under a second)
_FREE_COMPARE = 1000  # lists this short are compared without weighing them (worst case: milliseconds)
HUGE_WIDTH = re.compile(r"\d{7,}")  # a width or precision of a million or more
HUGE_PERCENT_WIDTH = re.compile(r"%[^a-zA-Z%]*(\d{7,}|\*)")  # "%9999999d", "%*d"
_SEQUENCES = (str, bytes, list, tuple)


class SandboxError(Exception):
    """A script or expression the sandbox refused or stopped."""


class SandboxLimitExceeded(SandboxError):
    """Stopped while running: time budget or size limit exceeded."""


def _too_long(what: str) -> SandboxLimitExceeded:
    return SandboxLimitExceeded(f"{what} would have more than {MAX_ITEMS} items; not allowed")


def _too_big_int(what: str) -> SandboxLimitExceeded:
    return SandboxLimitExceeded(f"{what} would give a number of more than {MAX_INT_BITS} bits; not allowed")


def _is_int(value: object) -> bool:
    return isinstance(value, int)


# -- binary operators --------------------------------------------------------------------
def _check_mul(a: object, b: object) -> None:
    if _is_int(a) and _is_int(b):
        assert isinstance(a, int) and isinstance(b, int)
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _too_big_int("multiplying")
        return
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, _SEQUENCES) and isinstance(times, int) and len(seq) * times > MAX_ITEMS:
            raise _too_long("repeating a sequence")


def _check_pow(a: object, b: object) -> None:
    if _is_int(a) and _is_int(b):
        assert isinstance(a, int) and isinstance(b, int)
        if b > 0 and abs(a) > 1 and (b > MAX_EXPONENT or b * math.log2(abs(a)) > MAX_INT_BITS):
            raise SandboxLimitExceeded(f"exponents above {MAX_EXPONENT} (or results of more than {MAX_INT_BITS} "
                                       f"bits) are not allowed")


def _check_lshift(a: object, b: object) -> None:
    if _is_int(a) and _is_int(b) and a != 0:
        assert isinstance(a, int) and isinstance(b, int)
        if b > MAX_EXPONENT or a.bit_length() + b > MAX_INT_BITS:
            raise SandboxLimitExceeded(f"shifts above {MAX_EXPONENT} (or results of more than {MAX_INT_BITS} "
                                       f"bits) are not allowed")


def _check_add(a: object, b: object) -> None:
    if isinstance(a, _SEQUENCES) and isinstance(b, Sized) and len(a) + len(b) > MAX_ITEMS:
        raise _too_long("joining two sequences")


def _check_mod(a: object, b: object) -> None:
    if isinstance(a, (str, bytes)):
        text = a.decode("latin-1") if isinstance(a, bytes) else a
        if HUGE_PERCENT_WIDTH.search(text):
            raise SandboxLimitExceeded("format widths of a million or more are not allowed")
        for value in b if isinstance(b, tuple) else (b,):
            _check_text_size(value, "formatting")


_CHECKS: dict[str, tuple[Callable[[object, object], None], Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    "mul": (_check_mul, operator.mul, operator.imul),
    "pow": (_check_pow, operator.pow, operator.ipow),
    "lshift": (_check_lshift, operator.lshift, operator.ilshift),
    "add": (_check_add, operator.add, operator.iadd),
    "mod": (_check_mod, operator.mod, operator.imod),
}


def _binop(op: str, a: Any, b: Any) -> Any:
    check, plain, _ = _CHECKS[op]
    check(a, b)
    return _bounded(plain(a, b))


def _inplace(op: str, a: Any, b: Any) -> Any:
    check, _, inplace = _CHECKS[op]
    check(a, b)
    return _bounded(inplace(a, b))


def _bounded(result: Any) -> Any:
    """The result of an operation the checks above let through, refused if it still came
    out too long (``'%s%s' % (s, s)``): at most a few times MAX_ITEMS was allocated."""
    if isinstance(result, _SEQUENCES) and len(result) > MAX_ITEMS:
        raise _too_long("the result")
    return result


def _inplace_item(container: Any, key: Any, op: str, value: Any) -> None:
    container[key] = _inplace(op, container[key], value)


# -- sizes of text and sequences ---------------------------------------------------------------
def _weight(value: object, budget: int) -> int:
    """About how many characters and items ``value`` holds, nested containers included
    (a list of a million references to one long string weighs a million times its
    length); stops counting once past ``budget``."""
    size, todo = 0, [value]
    while todo and size <= budget:
        item = todo.pop()
        if isinstance(item, (str, bytes)):
            size += len(item) + 2
        elif isinstance(item, (list, tuple, set, frozenset, dict)):
            size += len(item) + 2
            if size <= budget:
                todo.extend(item.items() if isinstance(item, dict) else item)
        else:
            size += 1  # a number, None, a date...: compared in one step
    return size


def _check_text_size(value: object, what: str) -> None:
    """Refuse when ``str(value)`` would be longer than MAX_ITEMS: containers holding many
    references to one long string are cheap to build and huge to print."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return  # a str is already bounded; numbers are bounded by MAX_INT_BITS
    if _weight(value, MAX_ITEMS) > MAX_ITEMS:
        raise SandboxLimitExceeded(f"{what} a value as text of more than {MAX_ITEMS} characters is not allowed")


def _check_compare_cost(value: object, what: str, times: float = 1) -> None:
    """Refuse comparing ``value`` (``==``, ``in``, sorting...) when that could read more than
    MAX_COMPARED characters: one C-level comparison of a million references to a long
    string against an equal copy runs for tens of seconds. Small lists and tuples are
    free, and sets and dicts always are (membership is a hash lookup, hashes are cached)."""
    if isinstance(value, (list, tuple)) and len(value) > _FREE_COMPARE:
        if _weight(value, int(MAX_COMPARED / times)) * times > MAX_COMPARED:
            raise SandboxLimitExceeded(f"{what} a collection that holds more than {MAX_COMPARED} characters in all "
                                       f"is not allowed")


def _compared(value: Any) -> Any:
    """An operand of a comparison (``==``, ``<``, ``in``...)."""
    _check_compare_cost(value, "comparing")
    return value


def _sorting(function: Callable[..., Any], sorts: bool) -> Callable[..., Any]:
    """``sorted`` (n log n comparisons) and ``min``/``max`` (n) with the comparison bound."""
    def checked(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1:  # one collection: its items are compared with each other
            items = args[0]
            size = len(items) if isinstance(items, Sized) else 0
            _check_compare_cost(items, f"{function.__name__}() of", max(1.0, math.log2(size or 1)) if sorts else 1)
        else:  # max(a, b): the arguments are compared with each other
            for one in args:
                _check_compare_cost(one, f"{function.__name__}() of")
        return function(*args, **kwargs)
    checked.__name__ = function.__name__
    return checked


def _sized(value: Any) -> Any:
    """A display built from starred parts (``[*a, *a]``) or an f-string: at most MAX_ITEMS
    items or characters (each part was bounded: at most a few times that was allocated)."""
    if isinstance(value, Sized) and len(value) > MAX_ITEMS:
        raise _too_long("a list, tuple, set or f-string")
    return value


def _text(value: Any) -> Any:
    """An f-string part or ``str()`` argument, refused when its text would be too long."""
    _check_text_size(value, "showing")
    return value


def _str(*args: Any, **kwargs: Any) -> str:
    if args:
        _check_text_size(args[0], "converting")
    return str(*args, **kwargs)


def _format(value: Any, conversion: int, spec: str) -> str:
    """``f"{value!conversion:spec}"`` with a spec computed at run time."""
    if HUGE_WIDTH.search(spec):
        raise SandboxLimitExceeded("format widths of a million or more are not allowed")
    _check_text_size(value, "showing")
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    return format(value, spec)


def _set_slice(container: Any, key: slice, value: Any) -> None:
    if isinstance(container, list) and isinstance(value, Sized) and len(container) + len(value) > MAX_ITEMS:
        raise _too_long("assigning to a slice")
    container[key] = value


# -- methods ---------------------------------------------------------------------------------
def _check_join(sep: str | bytes, args: tuple[Any, ...]) -> tuple[Any, ...]:
    parts = list(args[0]) if args else []
    if len(parts) > MAX_ITEMS:
        raise _too_long("joining")
    try:
        total = sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0)
    except TypeError:
        return (parts,)  # join itself says what is wrong
    if total > MAX_ITEMS:
        raise _too_long("joining")
    return (parts,)


def _check_replace(text: str | bytes, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(args) >= 2 and isinstance(args[0], type(text)) and isinstance(args[1], type(text)):
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 and isinstance(args[2], int) else -1
        if len(new) > len(old):
            found = text.count(old)  # type: ignore[arg-type]
            found = found if count < 0 else min(found, count)
            if len(text) + found * (len(new) - len(old)) > MAX_ITEMS:
                raise _too_long("replacing")
    return args


def _check_width(text: str | bytes, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if args and isinstance(args[0], int) and args[0] > MAX_ITEMS:
        raise SandboxLimitExceeded(f"padding to more than {MAX_ITEMS} characters is not allowed")
    return args


def _check_search(items: list[Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    _check_compare_cost(items, "searching")
    return args


def _check_sort(items: list[Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    _check_compare_cost(items, "sorting", max(1.0, math.log2(len(items) or 1)))
    return args


def _check_extend(items: list[Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    if args and isinstance(args[0], Sized) and len(items) + len(args[0]) > MAX_ITEMS:
        raise _too_long("extending a list")
    return args


_TEXT_METHODS = {"join": _check_join, "replace": _check_replace, "ljust": _check_width, "rjust": _check_width,
                 "center": _check_width, "zfill": _check_width}
_LIST_METHODS = {"extend": _check_extend, "sort": _check_sort, "count": _check_search, "index": _check_search,
                 "remove": _check_search}
GUARDED_METHODS = frozenset(_TEXT_METHODS) | frozenset(_LIST_METHODS)


def _method(obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``obj.name(*args)`` after the size check of ``name`` (a method the static checks
    allowed: the rewrite passes only names of SAFE_ATTRIBUTES)."""
    bound = getattr(obj, name)
    if isinstance(obj, (str, bytes)) and name in _TEXT_METHODS:
        args = _TEXT_METHODS[name](obj, args)
    elif isinstance(obj, (list, tuple)) and name in _LIST_METHODS:
        args = _LIST_METHODS[name](obj, args)  # type: ignore[arg-type]
    return bound(*args, **kwargs)


def safe_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
    """``sum()``; with a list or tuple start (natively quadratic: each step copies the whole
    result so far) of at most MAX_SUM_PARTS parts and MAX_ITEMS items, in linear time."""
    if not isinstance(start, (list, tuple)):
        return builtins.sum(iterable, start)
    if isinstance(iterable, Sized) and len(iterable) > MAX_SUM_PARTS:
        raise SandboxLimitExceeded(f"sum() of more than {MAX_SUM_PARTS} lists or tuples is not allowed "
                                   f"(build the list with a comprehension)")
    kind, result = type(start), list(start)
    for parts, item in enumerate(iterable, 1):
        if parts > MAX_SUM_PARTS:
            raise SandboxLimitExceeded(f"sum() of more than {MAX_SUM_PARTS} lists or tuples is not allowed "
                                       f"(build the list with a comprehension)")
        if not isinstance(item, kind):
            raise TypeError(f'can only concatenate {kind.__name__} (not "{type(item).__name__}") to '
                            f"{kind.__name__}")
        if len(result) + len(item) > MAX_ITEMS:
            raise _too_long("sum()")
        result.extend(item)
    return result if kind is list else tuple(result)


GUARDS: dict[str, Callable[..., Any]] = {
    "_sandbox_binop": _binop, "_sandbox_inplace": _inplace, "_sandbox_inplace_item": _inplace_item,
    "_sandbox_sized": _sized, "_sandbox_text": _text, "_sandbox_str": _str, "_sandbox_format": _format,
    "_sandbox_set_slice": _set_slice, "_sandbox_method": _method, "_sandbox_slice": slice,
    "_sandbox_compared": _compared,
}
SORTING_BUILTINS = {name: _sorting(getattr(builtins, name), name == "sorted") for name in ("sorted", "min", "max")}
