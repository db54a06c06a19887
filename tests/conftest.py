"""Shared pytest set-up: a headless matplotlib backend, Hypothesis profiles, the built book."""

import os

# One BLAS thread: the tests use small matrices, where thread start-up costs more than it
# saves, and a loaded 2-core CI machine slows several-fold when threads fight. Must be set
# before numpy is first imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import book_build  # noqa: E402
import matplotlib  # noqa: E402
import pytest  # noqa: E402
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


# --- the built book, its server and a browser: shared by test_book.py and test_lite.py ---------
@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the book from a clean copy of the working tree; return its ``_build/html``.

    ``NNLIB_TEST_BOOK=_build/html`` reuses a book built by ``make book`` instead (quicker while
    editing a test; CI never sets it).
    """
    if os.environ.get("NNLIB_TEST_BOOK"):
        return Path(os.environ["NNLIB_TEST_BOOK"]).resolve()
    if not (book_build.BIN / "jupyter-book").exists():
        pytest.skip("jupyter-book is not installed (pip install -e '.[book]')")
    src = book_build.copy_working_tree(tmp_path_factory.mktemp("book-src"))
    book_build.build_book(src)
    return src / "_build" / "html"


@pytest.fixture(scope="session")
def server(built_book: Path) -> Iterator[str]:
    with book_build.serve(built_book) as origin:
        yield origin


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium, shared by every test of the session (book_build.shared_browser)."""
    yield book_build.shared_browser()
