"""Fixtures of the dashboard's tests (see `tests.web.dash`)."""

from tests.web.dash import sim, teacher, web, web_db  # noqa: F401 (fixtures, found by pytest by name)
