"""Operations tables (incidents, notifications): filled in by the task-queue work (issue 5)."""
