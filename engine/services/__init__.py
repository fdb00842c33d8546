"""Use cases, one function per thing a user (or the clock) does.

Each takes a unit of work (and, when it moves an instance, the process runtime) plus
ids, raises ``engine.errors`` for anything a user can get wrong, and never commits on
its own behalf except where noted.
"""
