"""Shared pytest set-up: a headless matplotlib backend and Hypothesis profiles."""

import os

# One BLAS thread: the tests use small matrices, where thread start-up costs more than it
# saves, and a loaded 2-core CI machine slows several-fold when threads fight. Must be set
# before numpy is first imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

matplotlib.use("Agg")  # tests never open windows

# "ci" runs a few more examples; "dev" keeps the edit-test loop quick. Both are seeded by
# Hypothesis' example database, and no test has a deadline (2-core CI machines are noisy).
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
