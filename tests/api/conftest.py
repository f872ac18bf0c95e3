"""Fixtures of the API tests (the shared helpers live in ``tests/helpers.py``)."""

from tests.helpers import procedure  # noqa: F401  (a fixture: a procedure with the default form, for every test here)
