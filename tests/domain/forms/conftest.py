from tests.helpers import procedure  # noqa: F401  (a fixture: a procedure with the default form)
