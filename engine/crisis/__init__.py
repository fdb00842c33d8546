"""Business continuity for CBF-5: declaring a disruption, the fan-out of crisis checks,
follow-ups during the disruption, staffing, the disruption log and notes, readiness, the
crisis team's reports, and the ``crisis.*`` operations. May use the case context."""
