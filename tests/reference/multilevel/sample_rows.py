"""Write the bundled sample's rows that satterthwaite_reference.R fits (run once; committed).

sample_rows.csv holds, for every engagement of the bundled sample (``outcomes.load_sample()``)
with an end score, an intake score, an alliance score and an agency-hope score, those four
columns and the coach id: the rows that ``multilevel`` uses for the model
``end_score ~ baseline + alliance + hope_agency`` (each split within and between coaches).

Run from the repository root:  python tests/reference/multilevel/sample_rows.py
"""

from pathlib import Path

import outcomes as oc

HERE = Path(__file__).resolve().parent
COLUMNS = ["coach_id", "end_score", "baseline", "alliance", "hope_agency"]


def main() -> None:
    table = oc.load_sample().analysis_table()[COLUMNS].dropna()
    table.to_csv(HERE / "sample_rows.csv", index=False, float_format="%.10g")


if __name__ == "__main__":
    main()
