"""The fast CSV path (Arrow) reads every file exactly as the pandas path does, or leaves it
to pandas: same cells, same line numbers, same errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes._errors import OutcomesError
from outcomes.io import _arrow
from outcomes.io.delimited import read_delimited

CELLS = ["a", "b c", " x ", "", "NA", "NULL", "#N/A", '"q"', '"a,b"', '"x""y"', '"line\nbreak"',
         "'=1+1", "''=x", "'-3", "3,5", "1.234,5", "é", "\x00", 'a"b', '"a"b', '""', '"', "7",
         "x\ry", "\t"]
HEADERS = ["id", "value", "coach_id", "", "NA", "note", "Value "]


@st.composite
def delimited_files(draw: st.DrawFn) -> str:
    sep = draw(st.sampled_from([",", ";", "\t"]))
    width = draw(st.integers(1, 4))
    names = [draw(st.sampled_from(HEADERS)) + str(i) for i in range(width)]
    lines = [sep.join(names)]
    for _ in range(draw(st.integers(0, 6))):
        fields = draw(st.one_of(st.just(width), st.integers(0, width + 2)))
        lines.append(sep.join(draw(st.sampled_from(CELLS)) for _ in range(fields)))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(lines) + draw(st.sampled_from(["", end]))


def _read(path):  # noqa: ANN001, ANN202
    try:
        table = read_delimited(path, file="t.csv")
    except OutcomesError as error:
        return ("error", str(error))
    cells = table.astype(object).where(table.notna(), None).values.tolist()
    return list(table.columns), table.index.tolist(), cells, [str(t) for t in table.dtypes]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(text=delimited_files())
def test_arrow_and_pandas_read_a_file_alike(text, tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    fast = _read(path)
    with monkeypatch.context() as patch:
        patch.setattr(_arrow, "parse", lambda *args, **kwargs: None)  # pandas reads every file
        slow = _read(path)
    assert fast == slow


@pytest.mark.parametrize("text", ['id,note\n1,"never closed\n2,x\n', 'id\n"open'])
def test_a_quote_never_closed_is_refused_on_both_paths(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OutcomesError, match="never closed"):
        read_delimited(path, file="t.csv")
