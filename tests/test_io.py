import pytest

from codelaw import io
from codelaw.errors import UserError


def test_readers_turn_bad_files_into_one_line_errors(tmp_path):
  (tmp_path / "bin").write_bytes(b"ok\xff\xfe")
  (tmp_path / "bad.json").write_text("{not json")
  cases = [
    (io.read_text, tmp_path / "bin", r"config.x = .*bin: not UTF-8 text \(byte 2 is 0xff\)"),
    (io.read_json, tmp_path / "bin", "not UTF-8 text"),
    (io.read_csv, tmp_path / "bin", "not UTF-8 text"),
    (io.read_json, tmp_path / "bad.json", r"bad.json: is not valid JSON \(line 1 column 2"),
    (io.read_text, tmp_path / "nope", "nope: file does not exist"),
    (io.read_json, tmp_path, "is a directory"),
  ]
  for read, path, message in cases:
    with pytest.raises(UserError, match=message) as e:
      read(path, "config.x")
    assert "\n" not in str(e.value)


def test_readers_read_good_files(tmp_path):
  io.atomic_write_json(tmp_path / "a.json", {"x": [1, 2]})
  assert io.read_json(tmp_path / "a.json") == {"x": [1, 2]}
  io.atomic_write_text(tmp_path / "a.csv", "a,b\n1,2\n3,\n")
  assert io.read_csv(tmp_path / "a.csv") == (["a", "b"], [{"a": "1", "b": "2"}, {"a": "3", "b": ""}])
  assert io.read_text(tmp_path / "a.csv").startswith("a,b")


def test_atomic_writes_get_the_mode_of_a_plain_write(tmp_path):
  io.atomic_write_json(tmp_path / "result.json", {"loss": 1.0})
  plain = tmp_path / "plain.txt"
  plain.write_text("x")
  assert (tmp_path / "result.json").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
  assert not list(tmp_path.glob(".*.tmp"))
