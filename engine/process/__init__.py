"""Processes as people and the clock use them: deploying models, starting instances,
firing timers, human tasks (view, claim, complete), the inbox, reassignment, and the
parameters pages read from decision tables."""
