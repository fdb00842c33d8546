"""The rewrite that puts the size guards of ``engine.bpmn.sandbox_guards`` into sandboxed
code: after the static checks pass, :func:`guard` replaces every operation one C-level
call could make huge with a call to its guard (``a * b`` becomes
``_sandbox_binop('mul', a, b)``, ``x += y`` becomes ``x = _sandbox_inplace('add', x, y)``,
``s.join(parts)`` becomes ``_sandbox_method(s, 'join', parts)``...). Operands are evaluated
once and in Python's order; operations on two constants are left alone (the static checks
bound those).
"""
from __future__ import annotations

import ast
from typing import TypeVar

from engine.bpmn.sandbox_guards import GUARDED_METHODS

_Root = TypeVar("_Root", bound=ast.AST)
_OPERATORS = {ast.Mult: "mul", ast.Pow: "pow", ast.LShift: "lshift", ast.Add: "add", ast.Mod: "mod"}


def _call(name: str, args: list[ast.expr], at: ast.AST, keywords: list[ast.keyword] | None = None) -> ast.Call:
    return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), args, keywords or []), at)


def _constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant))


def _key(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Slice):
        parts: list[ast.expr] = [part or ast.Constant(None) for part in (node.lower, node.upper, node.step)]
        return _call("_sandbox_slice", parts, node)
    return node


def _compared_operand(node: ast.expr) -> ast.expr:
    return node if isinstance(node, ast.Constant) else _call("_sandbox_compared", [node], node)


class _Guard(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        op = _OPERATORS.get(type(node.op))
        if op is None or (_constant(node.left) and _constant(node.right)):
            return node
        return _call("_sandbox_binop", [ast.Constant(op), node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        op, target = _OPERATORS.get(type(node.op)), node.target
        if op is None:
            return node
        if isinstance(target, ast.Name):
            value = _call("_sandbox_inplace", [ast.Constant(op), ast.Name(target.id, ast.Load()), node.value], node)
            return ast.copy_location(ast.Assign([target], value), node)
        if isinstance(target, ast.Subscript):  # c[k] op= v: c and k evaluated once, as Python does
            call = _call("_sandbox_inplace_item", [target.value, _key(target.slice), ast.Constant(op), node.value],
                         node)
            return ast.copy_location(ast.Expr(call), node)
        return node  # attribute targets are refused by the static checks

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        [target] = node.targets if len(node.targets) == 1 else [None]
        if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice):
            call = _call("_sandbox_set_slice", [target.value, _key(target.slice), node.value], node)
            return ast.copy_location(ast.Expr(call), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in GUARDED_METHODS:
            return _call("_sandbox_method", [func.value, ast.Constant(func.attr), *node.args], node, node.keywords)
        if isinstance(func, ast.Name) and func.id == "str":
            return _call("_sandbox_str", node.args, node, node.keywords)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        node.left, node.comparators = _compared_operand(node.left), [_compared_operand(c) for c in node.comparators]
        return node

    def _displayed(self, node: ast.List | ast.Tuple | ast.Set) -> ast.AST:
        self.generic_visit(node)
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load) and any(
                isinstance(e, ast.Starred) for e in node.elts):
            return _call("_sandbox_sized", [node], node)
        return node

    visit_List = visit_Tuple = visit_Set = _displayed

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node.value = self.visit(node.value)
        spec = node.format_spec
        if isinstance(spec, ast.JoinedStr):  # visited part by part: a spec must stay a JoinedStr
            spec.values = [self.visit(part) for part in spec.values]
            if not all(isinstance(part, ast.Constant) for part in spec.values):
                call = _call("_sandbox_format", [node.value, ast.Constant(node.conversion), spec], node)
                return ast.copy_location(ast.FormattedValue(call, -1, None), node)
        if not isinstance(node.value, ast.Constant):
            node.value = _call("_sandbox_text", [node.value], node.value)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:  # an f-string (specs are visited above)
        self.generic_visit(node)
        if any(isinstance(part, ast.FormattedValue) for part in node.values):
            return _call("_sandbox_sized", [node], node)
        return node


def guard(tree: _Root) -> _Root:
    """``tree`` with every guarded operation replaced by its helper call (in place)."""
    _Guard().visit(tree)  # a Module or Expression is changed in place, never replaced
    return ast.fix_missing_locations(tree)
