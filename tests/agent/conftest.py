from tests.rafiq.conftest import container, small_kb  # noqa: F401 - shared fixtures
