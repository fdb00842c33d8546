"""Crisis tables (declarations, disruption log): filled in by the BCP work (issue 7)."""
