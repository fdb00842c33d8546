"""People: accounts and sign-in, the staff directory (roles, supervision), the demo
users, and who may see and do what (``access``, pure functions)."""
