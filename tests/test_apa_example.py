"""The committed APA example (reports/apa/) is what its documented command writes."""

from __future__ import annotations

import re
from pathlib import Path

from outcomes.apa.word import read_docx_cells
from tests.e2e._outcomes_cli import run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "reports" / "apa"


def _command() -> list[str]:
    """The command as reports/apa/README.md gives it (its arguments after `outcomes`)."""
    text = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    words = block.replace("\\\n", " ").split()
    assert words[0] == "outcomes"
    return words[1:]


def test_the_documented_command_rewrites_the_committed_tables(tmp_path):
    args = _command()
    out = {"--docx": tmp_path / "shares.docx", "--latex": tmp_path / "shares.tex"}
    args = [str(out[args[i - 1]]) if i and args[i - 1] in out else a for i, a in enumerate(args)]
    result = run(*args, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert out["--latex"].read_text(encoding="utf-8") == \
        (EXAMPLE / "shares.tex").read_text(encoding="utf-8")
    written, committed = read_docx_cells(out["--docx"]), read_docx_cells(EXAMPLE / "shares.docx")
    assert written == committed and len(committed) == 1
    headings = committed[0][1]
    assert headings[:2] == ["Factor", "Measures"] and "95% CI" in headings
    assert [row[0] for row in committed[0][2:]] == ["Client", "Relationship", "Expectancy",
                                                    "Technique", "Total"]
    assert out["--docx"].read_bytes() == (EXAMPLE / "shares.docx").read_bytes()


def test_an_apa_table_never_lands_on_an_input_file(tmp_path):
    target = ROOT / "data" / "sample" / "coaches.csv"
    before = target.read_bytes()
    result = run("decompose", "data/sample", "--docx", "data/sample/coaches.csv", cwd=ROOT)
    assert result.returncode == 2 and "one of the files read" in result.stderr
    assert target.read_bytes() == before
