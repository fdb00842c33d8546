"""The case committee: conferences and their votes (``committee.*`` operations) and the
committee's board of pending decisions."""
