"""The processes the tests and the benchmark start: PostgreSQL, Berth under gunicorn, dockerd.

Both tests/ and bench/ import these, and this package imports neither, so each can change alone
(tests/test_layout.py keeps it so).
"""
