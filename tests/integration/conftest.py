"""The end-to-end fixtures (`sim`, `app`) for every integration test module."""

from tests.integration.e2e import app, remove_grader_images, sim  # noqa: F401 (fixtures, found by pytest by name)
