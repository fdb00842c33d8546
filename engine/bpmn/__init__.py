"""The BPMN/DMN machinery, knowing no context: spec parsing and validation, DMN checks,
the script sandbox, the runtime, serialization, forms, the operations registry, task and
timer row sync, and the one path every engine step takes (``engine_step``)."""
