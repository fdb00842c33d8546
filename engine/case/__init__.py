"""The case context: referrals in, case records and their history, assignment within the
caseload cap, closure and reopening, the case file, lists and dashboards, the short
processes beside the main one, and the ``case.*`` service-task operations
(``engine.case.operations``). Never imports the crisis or committee contexts."""
