"""The worker tests here reuse the integration fixtures: the session's workers and store."""

from tests.integration.conftest import store, workers  # noqa: F401
