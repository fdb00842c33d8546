"""Infrastructure: the database (engines, sessions, migrations), the unit of work (one
transaction with its audit and outbox rows), mail, and the bootstrap that wires them."""
