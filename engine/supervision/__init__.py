"""Supervision (R30, R49): the recurring duties of supervisors as short instances, file
audits drawn at random but reproducibly, and absence with the director standing in."""
