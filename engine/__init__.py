"""The domain core: process models, instances, human tasks, cases.

Plain Python, SQLAlchemy and SpiffWorkflow. This package must import neither Flask nor
Dramatiq (tests/engine/test_layering.py enforces it): the web app and the workers are
adapters around it.
"""
