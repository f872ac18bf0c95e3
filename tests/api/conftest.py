"""Fixtures of the API tests (the shared helpers live in ``tests/helpers.py``, the payments' world in
``tests/api/payments_world.py``, the back office's in ``tests/api/backoffice.py``)."""

from tests.api.backoffice import setting  # noqa: F401  (a fixture: a unit's receiver, approver and stranger)
from tests.api.payments_world import db, fake_server, gateways_on  # noqa: F401  (fixtures of the payment tests)
from tests.helpers import procedure  # noqa: F401  (a fixture: a procedure with the default form, for every test here)
