import pytest

from forecasting.io import atomic_write, atomic_write_text


def test_atomic_write_when_writer_fails_leaves_old_file_untouched(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def boom(handle):
        handle.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_write_text_when_folder_missing_creates_it(tmp_path):
    target = tmp_path / "a" / "b.txt"
    atomic_write_text(target, "hello")
    assert target.read_text() == "hello"
