import pytest


@pytest.fixture(autouse=True)
def _fresh_cookies(request: pytest.FixtureRequest) -> None:
    """The session-wide client is shared: start every test without another test's cookies."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").cookies.clear()
