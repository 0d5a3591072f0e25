"""Fixtures of the dataset tests."""
import pytest
from hostile import Files


@pytest.fixture
def files(tmp_path) -> Files:
    return Files(tmp_path)
