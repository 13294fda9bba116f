"""Each test's points, in the JUnit XML pytest writes: `@points(3)` on a test method or class
(1 without), recorded as the test case's max_score property, which pushgrade reads."""

import pytest


def points(worth: float):
    """Mark a unittest test (or a whole TestCase) as worth `worth` points."""
    return pytest.mark.points(worth)


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): what the test is worth")


@pytest.fixture(autouse=True)
def _points(request, record_property):
    marker = request.node.get_closest_marker("points")
    record_property("max_score", marker.args[0] if marker else 1)
