"""``case.*`` and ``process.*`` service-task operations: intake and assessment, planning
and care, closure."""
