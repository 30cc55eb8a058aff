"""Build the canonical tables of a simulated study from one latent draw."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

from outcomes.simulate.generative import (
    FACTORS,
    ITEM_MODELS,
    GenerativeModel,
    draw_latent,
    item_structure,
    item_values,
    technique_codes,
    true_score,
)

RELATIONSHIP, TECHNIQUE = FACTORS.index("relationship"), FACTORS.index("technique")

ORS_INTAKE_MEAN = 19.0  # true intake level; observed SD ≈ 7 once item noise is added
ORS_INTAKE_SD = 6.8
ORS_ITEM_NOISE = 0.9  # SD of each ORS item around a quarter of the true total
ORS_STATE_SD = 2.0  # session-to-session fluctuation of the true ORS total
CURVE_RATE = 0.4  # negatively accelerated approach to intake + change
ADHERENCE_LOADING = 0.75  # correlation of a session's adherence state with the technique factor
DROPOUT_SLOPE = 0.8  # log-odds of dropping per SD of the relationship factor (lower = more)
ONGOING, REFERRED = 0.03, 0.02
ORGANISATION, CONSENT = 0.60, 0.95
ACCREDITATIONS = ("none", "associate", "professional", "master")
ACCREDITATION_P = (0.15, 0.35, 0.35, 0.15)
#: Orientation of a coach and the models their engagements are built on.
ORIENTATIONS = {
    "cognitive-behavioural": ("cognitive-behavioural", "motivational-interviewing", "grow"),
    "solution-focused": ("solution-focused", "grow", "appreciative-inquiry"),
    "psychodynamic": ("psychodynamic", "transactional-analysis", "gestalt"),
    "positive-psychology": ("positive-psychology", "strengths-based", "appreciative-inquiry"),
    "integrative": ("grow", "narrative", "mindfulness", "psychometric-feedback",
                    "multisource-feedback"),
}
DURATIONS, DURATION_P = (45.0, 50.0, 60.0, 75.0, 90.0), (0.15, 0.15, 0.45, 0.15, 0.10)
OCCASIONS = ("intake", "session", "end")
INSTRUMENTS = ("ors", "lot-r", "mspss", "gse", "urica", "ahs", "ceq", "srs", "wai-sr", "gas")
RATERS = ("client", "coach")


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    width = max(width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def dropout_intercept(dropout: float, slope: float = DROPOUT_SLOPE) -> float:
    """α with E[expit(α − slope·Z)] = dropout for Z ~ N(0, 1) (Gauss–Hermite, 60 nodes)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    return optimize.brentq(lambda a: weights @ expit(a - slope * nodes) - dropout, -40, 40)


def _coaches(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({
        "coach_id": pd.array(_ids("C", n, 3), dtype="str"),
        "years_experience": np.round(rng.gamma(2.5, 3.5, n), 1),
        "accreditation": pd.array(rng.choice(ACCREDITATIONS, n, p=ACCREDITATION_P),
                                  dtype="str"),
        "orientation": pd.array(rng.choice(list(ORIENTATIONS), n), dtype="str"),
    })


def _status(relationship: np.ndarray, dropout: float, rng: np.random.Generator) -> np.ndarray:
    n = len(relationship)
    p_drop = (expit(dropout_intercept(dropout) - DROPOUT_SLOPE * relationship)
              if dropout > 0 else np.zeros(n))
    dropped = rng.random(n) < p_drop
    v = rng.random(n)
    status = np.where(v < ONGOING, "ongoing", np.where(v < ONGOING + REFERRED, "referred",
                                                         "completed"))
    return np.where(dropped, "dropped", status).astype(object)


def _session_counts(status: np.ndarray, sessions_mean: float, rng: np.random.Generator):
    n = len(status)
    planned = np.clip(1 + rng.poisson(sessions_mean - 1, n), 1, 20)
    part = {"dropped": 0.35, "referred": 0.5, "ongoing": 0.6}
    keep = np.array([part.get(s, 1.0) for s in status])
    held = 1 + rng.binomial(planned - 1, keep)
    return planned, np.where(status == "completed", planned, held)


def build_tables(model: GenerativeModel, a: dict[str, Any], rng: np.random.Generator):
    """The four canonical tables and a count of what they hold."""
    latent = draw_latent(model, a["n_coaches"], a["clients_per_coach"], rng)
    coaches = _coaches(a["n_coaches"], rng)
    n = len(latent.change)
    offset = rng.integers(0, 365, n)
    order = np.argsort(offset, kind="stable")  # engagement ids follow start dates
    offset, coach = offset[order], latent.coach[order]
    factors, change = latent.factors[order], latent.change[order]
    status = _status(factors[:, RELATIONSHIP], a["dropout"], rng)
    planned, held = _session_counts(status, a["sessions_mean"], rng)
    start = np.datetime64(a["start"], "D") + offset.astype("timedelta64[D]")

    sessions, last = _sessions(factors[:, TECHNIQUE], coach, coaches, start, held, rng)
    end = np.where(status == "ongoing", np.datetime64("NaT"), last).astype("datetime64[D]")
    engagement_ids = _ids("E", n, 4)
    engagements = pd.DataFrame({
        "engagement_id": pd.array(engagement_ids, dtype="str"),
        "client_id": pd.array(_ids("P", n, 4)[rng.permutation(n)], dtype="str"),
        "coach_id": pd.array(coaches["coach_id"].to_numpy()[coach], dtype="str"),
        "start_date": start.astype("datetime64[ns]"),
        "end_date": end.astype("datetime64[ns]"),
        "sponsor": pd.array(np.where(rng.random(n) < ORGANISATION, "organisation", "self"),
                            dtype="str"),
        "status": pd.array(status, dtype="str"),
        "research_consent": pd.array(rng.random(n) < CONSENT, dtype="boolean"),
    })
    sessions.insert(0, "engagement_id", pd.array(
        engagement_ids[sessions.pop("index").to_numpy()], dtype="str"))
    responses = _responses(model, factors, change, status, planned, held, a, rng)
    responses.insert(0, "engagement_id", pd.array(
        engagement_ids[responses.pop("index").to_numpy()], dtype="str"))
    tables = {"coaches": coaches, "engagements": engagements, "sessions": sessions,
              "responses": responses}
    counts = {"coaches": len(coaches), "engagements": n, "sessions": len(sessions),
              "responses": len(responses)}
    counts.update({s: int((status == s).sum())
                   for s in ("completed", "dropped", "ongoing", "referred")})
    return tables, counts


def _sessions(technique, coach, coaches, start, held, rng):
    """Sessions: dates 7–14 days apart, duration, technique codes, adherence."""
    index = np.repeat(np.arange(len(held)), held)
    first = np.cumsum(held) - held
    number = np.arange(len(index)) - first[index] + 1
    gap = np.where(number == 1, 0, rng.integers(7, 15, len(index)))
    elapsed = np.cumsum(gap) - np.repeat(np.cumsum(gap)[first] - gap[first], held)
    date = start[index] + elapsed.astype("timedelta64[D]")
    last = date[np.cumsum(held) - 1]

    known = technique_codes()
    codes = np.array(known, dtype=object)
    orientation = coaches["orientation"].to_numpy()[coach]
    pick = rng.random(len(held))
    model = np.array([known.index(ORIENTATIONS[o][int(p * len(ORIENTATIONS[o]))])
                      for o, p in zip(orientation, pick, strict=True)])
    coherent = rng.random(len(index)) < expit(0.4 + 1.3 * technique[index])
    lead = np.where(coherent, model[index], rng.integers(0, len(codes), len(index)))
    keys = rng.random((len(index), len(codes)))
    keys[np.arange(len(index)), lead] = -1.0  # the lead code first, the others at random
    ranked = np.argsort(keys, axis=1)[:, :3]
    k = rng.choice([1, 2, 3], len(index), p=[0.45, 0.40, 0.15])
    techniques = [";".join(codes[row[:m]]) for row, m in zip(ranked, k, strict=True)]
    lam = ADHERENCE_LOADING
    state = lam * technique[index] + np.sqrt(1 - lam**2) * rng.standard_normal(len(index))
    adherence = np.clip(np.round(3.3 + 0.9 * state), 1, 5)
    frame = pd.DataFrame({
        "index": index,
        "session": pd.array(number, dtype="Int64"),
        "date": date.astype("datetime64[ns]"),
        "duration_min": rng.choice(DURATIONS, len(index), p=DURATION_P),
        "techniques": pd.array(techniques, dtype="str"),
        "adherence": adherence.astype(float),
    })
    return frame, last


class _Blocks:
    """Item responses gathered block by block, as parallel integer-coded arrays."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, who, occasion, session, instrument, rater, values, present=None):
        n, m = values.shape
        items = item_structure(instrument).items[:m]
        keep = np.ones((n, m), bool) if present is None else present
        rows, cols = np.nonzero(keep)
        session = np.broadcast_to(np.asarray(session), (n,))
        self.parts.append((
            who[rows], np.full(len(rows), OCCASIONS.index(occasion)), session[rows],
            np.full(len(rows), INSTRUMENTS.index(instrument)), np.asarray(items)[cols],
            values[rows, cols], np.full(len(rows), RATERS.index(rater)),
        ))

    def frame(self, missing: float, rng: np.random.Generator) -> pd.DataFrame:
        columns = zip(*self.parts, strict=True)
        who, occ, ses, ins, item, value, rater = (np.concatenate(c) for c in columns)
        keep = rng.random(len(who)) >= missing
        who, occ, ses, ins, item, value, rater = (
            c[keep] for c in (who, occ, ses, ins, item, value, rater))
        order = np.lexsort((item, rater, ins, ses, occ, who))
        ses = ses[order]
        return pd.DataFrame({
            "index": who[order],
            "occasion": pd.array(np.array(OCCASIONS, dtype=object)[occ[order]], dtype="str"),
            "session": pd.arrays.IntegerArray(ses.astype("int64"), ses == 0),
            "instrument": pd.array(np.array(INSTRUMENTS, dtype=object)[ins[order]],
                                   dtype="str"),
            "item": pd.array(item[order], dtype="Int64"),
            "value": value[order].astype(float),
            "rater": pd.array(np.array(RATERS, dtype=object)[rater[order]], dtype="str"),
        })


def _ors(total: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Four ORS items around a quarter of the true total, to one decimal, within 0–10."""
    s = item_structure("ors")
    raw = total[:, None] / 4 + ORS_ITEM_NOISE * rng.standard_normal((len(total), 4))
    return np.round(np.clip(np.round(raw / s.step) * s.step, s.low, s.high), 6)


def _responses(model, factors, change, status, planned, held, a, rng) -> pd.DataFrame:
    n = len(change)
    everyone = np.arange(n)
    blocks = _Blocks()
    intake = ORS_INTAKE_MEAN + ORS_INTAKE_SD * rng.standard_normal(n)
    blocks.add(everyone, "intake", 0, "ors", "client", _ors(intake, rng))
    scores = {}
    for key in ("lot-r", "mspss", "gse", "urica", "ahs", "ceq"):
        item_model = ITEM_MODELS[key]
        scores[key] = true_score(item_model, factors[:, FACTORS.index(item_model.factor)], rng)
        blocks.add(everyone, "intake", 0, key, "client",
                   item_values(item_structure(key), item_model, scores[key], rng))

    # per session: ORS at the start, SRS at the end; WAI-SR at sessions 1 and 3
    who = np.repeat(everyone, held)
    number = np.arange(len(who)) - np.repeat(np.cumsum(held) - held, held) + 1
    share = (1 - np.exp(-CURVE_RATE * (number - 1))) / (1 - np.exp(-CURVE_RATE * planned[who]))
    level = intake[who] + change[who] * share + ORS_STATE_SD * rng.standard_normal(len(who))
    blocks.add(who, "session", number, "ors", "client", _ors(level, rng))
    relationship = factors[:, RELATIONSHIP]
    for key, stable in (("srs", np.sqrt(0.5)), ("wai-sr", 0.8)):
        item_model = ITEM_MODELS[key]
        person = rng.standard_normal(n)
        at = number if key == "srs" else np.where(np.isin(number, (1, 3)), number, 0)
        rows = at > 0
        state = rng.standard_normal(rows.sum())
        specific = stable * person[who[rows]] + np.sqrt(1 - stable**2) * state
        t = (item_model.validity * relationship[who[rows]]
             + np.sqrt(1 - item_model.validity**2) * specific)
        blocks.add(who[rows], "session", at[rows], key, "client",
                   item_values(item_structure(key), item_model, t, rng))
    third = everyone[held >= 3]
    coach_view = ITEM_MODELS["wai-sr:coach"]
    blocks.add(third, "session", 3, "wai-sr", "coach",
               item_values(item_structure("wai-sr"), coach_view,
                           true_score(coach_view, relationship[third], rng), rng))

    # end of completed engagements: ORS, GSE, GAS (2–3 goals)
    done = everyone[status == "completed"]
    z = (change[done] - model.change_mean) / model.change_sd
    blocks.add(done, "end", 0, "ors", "client", _ors(intake[done] + change[done], rng))
    gse_end = scores["gse"][done] + 0.4 * z + 0.2
    blocks.add(done, "end", 0, "gse", "client",
               item_values(item_structure("gse"), ITEM_MODELS["gse"], gse_end, rng))
    goals = 2 + (rng.random(len(done)) < 0.5)
    attainment = 0.6 * z[:, None] + 0.8 * rng.standard_normal((len(done), 3))
    gas = np.clip(np.round(0.2 + 0.9 * attainment), -2, 2)
    blocks.add(done, "end", 0, "gas", "client", gas,
               present=np.arange(1, 4)[None, :] <= goals[:, None])
    return blocks.frame(a["missing_items"], rng)
