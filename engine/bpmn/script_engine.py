"""Running sandboxed code: SpiffWorkflow's script engine with the policy of
``engine.bpmn.sandbox`` applied to every script, condition, timer expression and DMN cell.

Each run has its own time limit (``SCRIPT_TIME_LIMIT``) and shares the engine step's
(``STEP_TIME_LIMIT``, ``engine.bpmn.step_budget``): code does not start once the step's
time is up, and its loops stop at whichever deadline comes first. The size guards of
``engine.bpmn.sandbox_guards`` are compiled into the code itself.

Every workflow the engine starts or restores runs with :func:`make_script_engine`.
Service tasks go to the operations registry (``engine.bpmn.operations``).
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.bpmn import operations, step_budget
from engine.bpmn.sandbox import (
    DEFAULT_TIME_LIMIT,
    SAFE_BUILTINS,
    SCRIPT_FILENAME,
    TICK_NAME,
    Compiled,
    SandboxError,
    SandboxViolation,
    checked_code,
    deadline,
)


class SandboxedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment semantics (scripts read and write task data as globals;
    expressions see external context + task data) with sandboxed code."""

    def __init__(self, environment_globals: dict | None = None, time_limit: float = DEFAULT_TIME_LIMIT):
        super().__init__(environment_globals)
        if not time_limit > 0:
            raise ValueError("time_limit must be positive")
        self.time_limit = time_limit

    @staticmethod
    def _step_budget() -> step_budget.StepBudget | None:
        """The engine step's budget; refused at once when its time is up."""
        budget = step_budget.active()
        if budget is not None:
            budget.check_time()
        return budget

    def _arm(self, scope: dict, compiled: Compiled, budget: step_budget.StepBudget | None) -> None:
        """Builtins and loop ticks for one run, ticking to whichever deadline — this
        script's or the engine step's — comes first."""
        scope["__builtins__"] = SAFE_BUILTINS  # last: task data can't replace it
        if compiled.instrumented:
            scope[TICK_NAME] = deadline(self.time_limit, budget.deadline if budget else None,
                                        budget.limits.step_time_limit if budget else None)

    def evaluate(self, expression, context, external_context=None):
        compiled = checked_code(expression, "eval")
        assert compiled.code is not None  # checked_code raises for code it refuses
        budget = self._step_budget()
        self._prepare_context(context)
        scope = {**self.globals, **(external_context or {}), **context}
        self._arm(scope, compiled, budget)
        return eval(compiled.code, scope)

    def execute(self, script, context, external_context=None):
        compiled = checked_code(script, "exec")
        assert compiled.code is not None  # checked_code raises for code it refuses
        budget = self._step_budget()
        self.check_for_overwrite(context, external_context or {})
        self._prepare_context(context)
        context.update({**self.globals, **(external_context or {})})
        self._arm(context, compiled, budget)
        try:
            exec(compiled.code, context)
        finally:
            context.pop(TICK_NAME, None)
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


def _error_line(source: str | None, err: BaseException) -> tuple[int | None, str | None]:
    line: int | None
    if isinstance(err, SandboxViolation):
        line = err.line
    elif isinstance(err, SyntaxError):
        line = err.lineno
    else:
        line, tb = None, err.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == SCRIPT_FILENAME:
                line = tb.tb_lineno
            tb = tb.tb_next
    lines = (source or "").splitlines()
    return line, (lines[line - 1] if line and line <= len(lines) else None)


class SandboxedScriptEngine(PythonScriptEngine):
    """Drop-in PythonScriptEngine: ``BpmnWorkflow(spec, subprocess_specs, script_engine=...)``.

    Failures surface as ``WorkflowTaskException`` through Spiff's own error handling;
    ``validate`` raises ``SyntaxError`` or ``SandboxViolation`` (DMNEngine relies on the
    former to decide whether a cell needs an implicit ``==``)."""

    def __init__(self, environment: SandboxedEnvironment | None = None,
                 time_limit: float = DEFAULT_TIME_LIMIT):
        super().__init__(environment or SandboxedEnvironment(time_limit=time_limit))
        if not isinstance(self.environment, SandboxedEnvironment):
            raise TypeError("SandboxedScriptEngine needs a SandboxedEnvironment")

    def validate(self, expression):
        checked_code(expression, "eval")

    def evaluate(self, task, expression, external_context=None):
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as err:
            cause = err.__context__  # Spiff wraps without 'from'; say what went wrong
            if isinstance(cause, Exception) and err.error_type == type(cause).__name__:
                err.line_number, err.error_line = _error_line(expression, cause)
                err.add_note(_describe(cause))
            raise

    def call_service(self, task, **kwargs):
        """Service tasks run registered operations (engine.bpmn.operations); domain errors
        they raise (engine.errors) pass through unchanged and roll the step back."""
        return operations.call(task, kwargs["operation_name"], kwargs.get("operation_params", {}))

    def create_task_exec_exception(self, task, script, err):
        if isinstance(err, SpiffWorkflowException):  # raised by host code: Spiff's handling
            return super().create_task_exec_exception(task, script, err)
        line, error_line = _error_line(script, err)
        return WorkflowTaskException(_describe(err), task=task, exception=err,
                                     line_number=line, error_line=error_line)


def _describe(err: BaseException) -> str:
    return str(err) if isinstance(err, SandboxError) else f"{type(err).__name__}: {err}"


def make_script_engine(time_limit: float = DEFAULT_TIME_LIMIT) -> SandboxedScriptEngine:
    """The engine every workflow runs with."""
    return SandboxedScriptEngine(time_limit=time_limit)
