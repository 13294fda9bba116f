"""The end-to-end fixtures (`sim`, `app`) and the private `registry` for every integration
test module."""

from tests.integration.e2e import app, remove_grader_images, sim  # noqa: F401 (fixtures, found by pytest by name)
from tests.integration.registries import registry  # noqa: F401 (a fixture, found by name)
