"""The grader's speed-ups of nbgrader (nngrader.host.nbgrader_steps) keep its behaviour."""

from __future__ import annotations

import os
import sys

import pytest

pytestmark = pytest.mark.grading


def test_gradebooks_share_one_engine_per_url_and_see_each_others_writes(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    bin_dir = os.path.dirname(os.path.abspath(sys.executable))  # a new gradebook runs alembic
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))

    from nngrader.host import nbgrader_steps as steps

    steps.share_engines()
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as first:
        first.add_student("ada")
        engine = first.engine
    with Gradebook(url) as second:
        assert second.engine is engine
        assert [s.id for s in second.students] == ["ada"]
    with Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert other.engine is not engine and other.students == []


def test_schema_checked_once_still_rejects_bad_cell_metadata():
    import jsonschema
    import nbformat
    from nbgrader.nbgraderformat import MetadataValidator

    from nngrader.host import nbgrader_steps as steps

    steps.check_schemas_once()
    cell = nbformat.v4.new_code_cell("x = 1")
    good = {"schema_version": 3, "grade": True, "solution": False, "locked": True}
    cell.metadata["nbgrader"] = {**good, "grade_id": "t", "points": 1.0, "task": False}
    MetadataValidator().validate_cell(cell)
    cell.metadata["nbgrader"]["points"] = "a lot"
    with pytest.raises(jsonschema.ValidationError, match="a lot"):
        MetadataValidator().validate_cell(cell)
