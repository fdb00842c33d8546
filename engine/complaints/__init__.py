"""Complaints (R28): recording, who is involved and who may see one, the ``complaint.*``
operations of the ``complaint`` diagram."""
