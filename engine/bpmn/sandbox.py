"""The sandbox policy for BPMN scripts, gateway conditions, timer expressions and DMN cells.

SpiffWorkflow runs all of these with plain ``exec``/``eval``. Diagrams are uploaded by
process owners, so here every source is parsed, checked against an AST allowlist and
compiled once (cached per source string); ``engine.bpmn.script_engine`` then runs the
code with a tiny builtins dict and a time budget. ``lint`` runs the same checks without
running anything (the deploy step).

Protected against:
  * imports, ``def``/``lambda``/``class``, ``global``/``nonlocal``, ``with``, ``try``,
    ``raise``, ``assert``, ``yield``/``await``/async, ``match``, annotations;
  * every name or attribute beginning with ``_`` (dunders: ``__class__``, ``__import__``,
    ``__builtins__``...; the bare ``_`` is allowed as a throw-away variable);
  * attribute access outside ``SAFE_ATTRIBUTES`` (methods of str/list/dict/set and a few
    number/date fields), which shuts ``str.format``/``format_map`` field traversal,
    ``mro``, ``gi_frame``/``f_globals`` and the like; assigning/deleting attributes;
  * calling anything but a name or a method, and calling a Python builtin that is not
    in ``SAFE_BUILTINS`` (``open``, ``getattr``, ``eval``, ``type``, ``print``...). At
    run time only ``SAFE_BUILTINS`` exist, so even an unseen route finds no builtin;
  * endless loops: every ``for``/``while`` body and comprehension is instrumented with a
    deadline check (plain Python, so it works in worker threads, costs nothing for
    loop-free code and leaves sys.settrace to debuggers/coverage); ``lint`` also
    reports ``while True`` without ``break`` (at run time the deadline stops it);
  * obvious memory/CPU bombs, refused at deploy: ``range()`` over more than MAX_ITEMS
    items; a literal sequence repeated to more than MAX_ITEMS items by a constant
    (``'a' * 10**9``); constant exponents/shifts above MAX_EXPONENT (``9**9**9``);
    ``ljust``/``zfill``... and constant f-string/``%`` format widths of 7+ digits; sources
    longer than MAX_SOURCE_CHARS;
  * the same bombs with run-time operands, refused before the operation runs: the code is
    rewritten so that ``**``, ``*``, ``<<``, ``+``, ``%`` (and ``x *= n``, ``d[k] += v``...),
    ``join``, ``replace``, ``extend``, the padding methods, slice assignment, starred
    displays, f-strings and ``str()`` call the guards of ``engine.bpmn.sandbox_guards``
    (sequences of at most MAX_ITEMS items, integers of at most MAX_INT_BITS bits), and so
    do comparisons, ``sorted``/``min``/``max`` and the list searches (at most MAX_COMPARED
    characters read); ``sum()`` of lists or tuples joins at most MAX_SUM_PARTS parts, in
    linear time (natively quadratic);
  * a whole engine step taking too long: every run checks the step's budget
    (``engine.bpmn.step_budget``, ``STEP_TIME_LIMIT``) when it starts, and its loop ticks
    stop at the step's deadline when that comes before the script's own.

The guards cover scripts, conditions, timer expressions and DMN cells alike (all compile
here). Each refusal is a ``SandboxLimitExceeded``; the step fails as a ``ScriptError``.

NOT protected against (production processes run with an address-space limit,
``RLIMIT_AS`` from ``MAX_MEMORY_MB``, applied by ``engine.infra.process_limits``):
  * a C-level operation that is slow without being large, within the bounds: sorting a
    million short strings, big-integer arithmetic on MAX_INT_BITS operands (each well
    under a second; the deadline then stops the loop that repeats them);
  * memory growth inside the time budget through many allocations each within the bounds
    and all kept alive (a comprehension appending a MAX_ITEMS list per iteration): the
    address-space limit stops that with a ``MemoryError``, which fails the step;
  * methods of host objects put in task data or ``environment_globals`` (trusted code).
"""
from __future__ import annotations

import ast
import builtins
import functools
import math
import operator
from dataclasses import dataclass
from time import monotonic
from types import CodeType
from typing import NamedTuple

from engine.bpmn.sandbox_guards import (
    GUARDS,
    HUGE_PERCENT_WIDTH,
    HUGE_WIDTH,
    MAX_COMPARED,
    MAX_EXPONENT,
    MAX_INT_BITS,
    MAX_ITEMS,
    SORTING_BUILTINS,
    SandboxError,
    SandboxLimitExceeded,
    safe_sum,
)
from engine.bpmn.sandbox_rewrite import guard

__all__ = ["MAX_COMPARED", "MAX_EXPONENT", "MAX_INT_BITS", "MAX_ITEMS", "SandboxError",  # re-exported
           "SandboxLimitExceeded"]

DEFAULT_TIME_LIMIT = 2.0
MAX_SOURCE_CHARS = 100_000
_CACHED_SOURCE_CHARS = 20_000  # longer sources are compiled each time (bounds the cache)
SCRIPT_FILENAME = "<script>"
TICK_NAME = "_sandbox_tick"


@dataclass(frozen=True, order=True)
class LintIssue:
    line: int
    col: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, col {self.col}: {self.message}"


class SandboxViolation(SandboxError):
    """Refused before running: the code breaks the sandbox rules."""

    def __init__(self, issues: tuple[LintIssue, ...]):
        self.issues = issues
        self.line = issues[0].line
        super().__init__("; ".join(f"{i.message} (line {i.line})" for i in issues[:3]))


def _safe_range(*args):
    result = range(*args)
    if (result.stop - result.start) // result.step > MAX_ITEMS:
        raise SandboxLimitExceeded(f"range() of more than {MAX_ITEMS} items is not allowed")
    return result


SAFE_BUILTINS: dict = {name: getattr(builtins, name) for name in (
    "len", "min", "max", "sum", "abs", "round", "sorted", "reversed", "any", "all", "int",
    "float", "str", "bool", "list", "dict", "set", "tuple", "enumerate", "zip")}
SAFE_BUILTINS["range"] = _safe_range
SAFE_BUILTINS["sum"] = safe_sum
SAFE_BUILTINS.update(SORTING_BUILTINS)  # sorted, min, max: bounded comparison cost
SAFE_BUILTINS.update(GUARDS)  # the guarded operators the rewrite calls (names scripts cannot spell)

SAFE_ATTRIBUTES = frozenset("""
    capitalize casefold center count endswith find index isalnum isalpha isascii isdecimal
    isdigit islower isnumeric isspace istitle isupper join ljust lower lstrip partition
    removeprefix removesuffix replace rfind rindex rjust rpartition rsplit rstrip split
    splitlines startswith strip swapcase title upper zfill append clear copy extend insert
    pop remove reverse sort get items keys values popitem setdefault update fromkeys add
    difference difference_update discard intersection intersection_update isdisjoint
    issubset issuperset symmetric_difference union real imag conjugate is_integer year month
    day hour minute second microsecond weekday isoweekday isoformat date time days seconds
    microseconds total_seconds
""".split())

_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
_UNAVAILABLE_BUILTINS = frozenset(n for n in dir(builtins) if n not in SAFE_BUILTINS)

_REFUSED = {
    ast.Import: "import", ast.ImportFrom: "import", ast.FunctionDef: "def",
    ast.AsyncFunctionDef: "async def", ast.Lambda: "lambda", ast.ClassDef: "class",
    ast.Global: "global", ast.Nonlocal: "nonlocal", ast.With: "with", ast.AsyncWith: "with",
    ast.Try: "try", ast.TryStar: "try", ast.Raise: "raise", ast.Assert: "assert",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Await: "await", ast.AsyncFor: "async for",
    ast.Match: "match", ast.AnnAssign: "annotated assignment",
}
_ALLOWED = frozenset({
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.For, ast.While,
    ast.If, ast.Pass, ast.Break, ast.Continue, ast.Delete, ast.BoolOp, ast.NamedExpr,
    ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict, ast.Set, ast.ListComp, ast.SetComp,
    ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call, ast.FormattedValue,
    ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred, ast.Name,
    ast.List, ast.Tuple, ast.Slice, ast.comprehension, ast.keyword,
})
_ALLOWED_BASES = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
_FOLDABLE = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
             ast.Pow: operator.pow, ast.LShift: operator.lshift}


# -- static checks -------------------------------------------------------------------------
def _fold(node: ast.AST, depth: int = 0) -> float | None:
    """The value of a constant number expression (bounded depth and size), else None."""
    if isinstance(node, ast.Constant):
        value = node.value
        return value if isinstance(value, (int, float)) and type(value) in (int, float) else None  # not bool
    if depth > 6 or not isinstance(node, (ast.BinOp, ast.UnaryOp)):
        return None
    if isinstance(node, ast.UnaryOp):
        value = _fold(node.operand, depth + 1) if isinstance(node.op, (ast.USub, ast.UAdd)) else None
        return -value if value is not None and isinstance(node.op, ast.USub) else value
    left, right, op = _fold(node.left, depth + 1), _fold(node.right, depth + 1), type(node.op)
    if left is None or right is None or op not in _FOLDABLE:
        return None
    try:  # results of more than ~4096 bits count as infinite instead of being computed
        if op is ast.Pow and abs(left) > 1 and right * math.log2(abs(left)) > 4096 or (
                op is ast.LShift and right > 4096):
            return math.inf
        value = _FOLDABLE[op](left, right)
        return value if type(value) in (int, float) else None
    except (ArithmeticError, TypeError, ValueError):
        return None


def _sequence_size(node: ast.AST, depth: int = 0) -> float | None:
    """Items in a literal sequence repeated by constants (``[0] * 10 * 10``), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return len(node.value)
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp, ast.JoinedStr)):
        return len(node.elts) if isinstance(node, (ast.List, ast.Tuple)) else 1
    if depth < 6 and isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for sequence, count in ((node.left, node.right), (node.right, node.left)):
            size, times = _sequence_size(sequence, depth + 1), _fold(count, depth + 1)
            if size is not None and times is not None:
                return size * times
    return None


def _never_breaks(loop: ast.While) -> bool:
    if not (isinstance(loop.test, ast.Constant) and loop.test.value):
        return False
    todo = list(loop.body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, ast.Break):
            return False
        if isinstance(stmt, ast.If):
            todo.extend(stmt.body + stmt.orelse)
    return True


def _problem(node: ast.AST) -> str | None:
    kind = type(node)
    if kind in _REFUSED:
        return f"{_REFUSED[kind]} is not allowed"
    if kind not in _ALLOWED and not isinstance(node, _ALLOWED_BASES):
        return f"{kind.__name__} is not allowed"
    if isinstance(node, ast.Name):
        if node.id.startswith("_") and node.id != "_":
            return f"name '{node.id}' is not allowed (names starting with '_' are reserved)"
    elif isinstance(node, ast.Attribute):
        if not isinstance(node.ctx, ast.Load):
            return "assigning or deleting attributes is not allowed"
        if node.attr not in SAFE_ATTRIBUTES:
            return f"attribute '{node.attr}' is not allowed"
    elif isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in _UNAVAILABLE_BUILTINS and func.id[0] != "_":
            return f"'{func.id}' is not available in scripts"
        if not isinstance(func, (ast.Name, ast.Attribute)):
            return "only names and methods may be called"
        if isinstance(func, ast.Attribute) and func.attr in _WIDTH_METHODS and any(
                (_fold(arg) or 0) > MAX_ITEMS for arg in node.args):
            return f"padding to more than {MAX_ITEMS} characters is not allowed"
    elif isinstance(node, (ast.BinOp, ast.AugAssign)):
        right = node.right if isinstance(node, ast.BinOp) else node.value
        if isinstance(node.op, (ast.Pow, ast.LShift)) and (_fold(right) or 0) > MAX_EXPONENT:
            return f"exponents and shifts above {MAX_EXPONENT} are not allowed"
        if isinstance(node.op, ast.Mult) and (_sequence_size(node) or 0) > MAX_ITEMS:
            return f"repeating a sequence to more than {MAX_ITEMS} items is not allowed"
        left = node.left if isinstance(node, ast.BinOp) else None  # an AugAssign's left is its target
        if isinstance(node.op, ast.Mod) and isinstance(left, ast.Constant) and isinstance(
                left.value, str) and HUGE_PERCENT_WIDTH.search(left.value):
            return "format widths of a million or more are not allowed"
    elif isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr) and any(
            isinstance(part, ast.Constant) and HUGE_WIDTH.search(str(part.value))
            for part in node.format_spec.values):
        return "format widths of a million or more are not allowed"
    elif isinstance(node, ast.comprehension) and node.is_async:
        return "async comprehension is not allowed"
    return None


def _tick_call(at: ast.stmt | ast.expr) -> ast.Call:
    where = dict(lineno=at.lineno, col_offset=at.col_offset,
                 end_lineno=at.lineno, end_col_offset=at.col_offset)
    return ast.Call(ast.Name(TICK_NAME, ast.Load(), **where), [], [], **where)


def _issue(node: ast.AST, message: str) -> LintIssue:
    return LintIssue(getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, message)


def _check_and_instrument(tree: ast.AST) -> tuple[list[LintIssue], list[LintIssue], bool]:
    """Iterative walk (no recursion limit on long code): collect violations and lint-only
    warnings, and put a deadline check atop every loop body and into every comprehension."""
    issues, warnings, instrumented, todo = [], [], False, [tree]
    while todo:
        node = todo.pop()
        problem = _problem(node)
        if problem:
            issues.append(_issue(node, problem))
        if isinstance(node, ast.While) and _never_breaks(node):  # the deadline stops it
            warnings.append(_issue(node, "endless loop: 'while' is always true and has no break"))
        if type(node) in _REFUSED:
            continue
        todo.extend(ast.iter_child_nodes(node))  # before instrumenting: ticks aren't checked
        if isinstance(node, (ast.For, ast.While)):
            node.body.insert(0, ast.copy_location(ast.Expr(_tick_call(node.body[0])), node.body[0]))
            instrumented = True
        elif isinstance(node, ast.comprehension):
            node.ifs.insert(0, _tick_call(node.iter))
            instrumented = True
    return sorted(issues), warnings, instrumented


class Compiled(NamedTuple):
    code: CodeType | None
    issues: tuple[LintIssue, ...]  # refused: syntax errors and sandbox violations
    syntax_error: bool
    instrumented: bool = False
    warnings: tuple[LintIssue, ...] = ()  # reported by lint only


def _compile_uncached(source: str, mode: str) -> Compiled:
    if len(source) > MAX_SOURCE_CHARS:
        return Compiled(None, (LintIssue(1, 1, f"longer than {MAX_SOURCE_CHARS} characters"),), False)
    text = source.lstrip(" \t") if mode == "eval" else source  # as eval() does
    shift = len(source) - len(text)
    try:
        tree = ast.parse(text, SCRIPT_FILENAME, mode)
        issues, warnings, instrumented = _check_and_instrument(tree)
        if issues:
            return Compiled(None, tuple(issues), False, False, tuple(warnings))
        tree = guard(tree)  # size guards before every operation one C-level call could make huge
        # the checks refuse every other root (Interactive, FunctionType): compile() takes these
        assert isinstance(tree, (ast.Module, ast.Expression))
        return Compiled(compile(tree, SCRIPT_FILENAME, mode), (), False, instrumented, tuple(warnings))
    except (SyntaxError, ValueError) as err:  # ValueError: null bytes
        line = getattr(err, "lineno", None) or 1
        col = (getattr(err, "offset", None) or 1) + (shift if line == 1 else 0)
        message = f"syntax error: {getattr(err, 'msg', err)}"
        return Compiled(None, (LintIssue(line, col, message),), True)
    except (RecursionError, MemoryError):
        return Compiled(None, (LintIssue(1, 1, "the code is nested too deeply"),), False)


_compile_cached = functools.lru_cache(maxsize=2048)(_compile_uncached)


def _compiled(source: str | None, mode: str) -> Compiled:
    source = source or ""
    if len(source) > _CACHED_SOURCE_CHARS:
        return _compile_uncached(source, mode)
    return _compile_cached(source, mode)


def checked_code(source: str | None, mode: str) -> Compiled:
    """The compiled code, or raise SyntaxError / SandboxViolation."""
    compiled = _compiled(source, mode)
    if compiled.code is not None:
        return compiled
    first = compiled.issues[0]
    if compiled.syntax_error:
        lines = (source or "").splitlines() or [""]
        text = lines[first.line - 1] if first.line <= len(lines) else ""
        message = first.message.removeprefix("syntax error: ")
        raise SyntaxError(message, (SCRIPT_FILENAME, first.line, first.col, text))
    raise SandboxViolation(compiled.issues)


def lint(source: str, mode: str = "exec") -> list[LintIssue]:
    """Syntax errors and sandbox violations of a script (``mode="exec"``) or expression
    (``mode="eval"``), found without running it. An empty list means OK."""
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    compiled = _compiled(source, mode)
    return sorted(compiled.issues + compiled.warnings)


def deadline(limit: float, step_deadline: float | None = None, step_limit: float | None = None):
    """A tick() for loop bodies: raises once ``limit`` seconds have passed, or the engine
    step's deadline (``step_deadline``, a ``monotonic()`` instant, of a ``step_limit`` s
    budget) if that comes first. Reads the clock every 32nd call (the clock read is the
    expensive part), so a deadline overrun is at most 31 iterations."""
    deadline = monotonic() + limit
    message = f"time limit of {limit:g} s exceeded"
    if step_deadline is not None and step_deadline < deadline:
        deadline, message = step_deadline, f"the engine step's time limit of {step_limit or 0:g} s exceeded"
    calls = 0

    def tick():
        nonlocal calls
        calls += 1
        if calls & 31 or monotonic() <= deadline:
            return True
        raise SandboxLimitExceeded(message)
    return tick
