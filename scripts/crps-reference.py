#!/usr/bin/env python3
"""Reference CRPS values for `hedgesim score`, from the `properscoring`
package (PyPI; Gneiting and Raftery 2007), independent of hedgesim's code.

Two modes:

  scripts/crps-reference.py --print
      Print the reference numbers pasted into tests/score.rs (test
      `crps_matches_properscoring`): the ensemble CRPS of a fixed ensemble
      and the CRPS of a piecewise-linear quantile distribution.

  scripts/crps-reference.py --check PATH/TO/hedgesim
      End-to-end check: write a small synthetic result directory
      (manifest.json, summary.csv, runs.csv) and an observations file into
      a temporary directory, run `hedgesim score --format json` on them and
      compare every CRPS with properscoring: `crps_ensemble` for rows scored
      from runs.csv, `crps_quadrature` of the piecewise-linear CDF through
      (min, 0), (q_i, p_i), (max, 1) for rows scored from summary.csv
      quantiles. Exit 1 on any mismatch.

Requires: numpy, scipy, properscoring (`pip install properscoring numpy`).
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import properscoring as ps

# The fixed ensemble of the Rust test: rational values, identical in both
# languages: x_i = 0.1 + 0.3 * ((i * 7919) % 1000) / 1000, i = 0..n-1.
N = 250
ENSEMBLE = [0.1 + 0.3 * ((i * 7919) % 1000) / 1000 for i in range(N)]
ENSEMBLE_Y = [0.05, 0.1, 0.2137, 0.25, 0.4, 0.55]

# A piecewise-linear quantile distribution: (level, value) knots with
# min at level 0 and max at level 1.
KNOTS = [(0.0, 0.1), (0.05, 0.12), (0.25, 0.15), (0.5, 0.2), (0.75, 0.22), (0.95, 0.3), (1.0, 0.5)]
KNOTS_Y = [0.05, 0.14, 0.2, 0.26, 0.6]


def knots_cdf(knots):
    levels = np.array([k[0] for k in knots])
    values = np.array([k[1] for k in knots])
    return lambda y: np.interp(y, values, levels, left=0.0, right=1.0)


def knots_crps(knots, y):
    # The CDF has kinks at the knots, so scipy's error estimate exceeds
    # properscoring's default tolerance check although the value is
    # accurate to ~1e-9; tol=1.0 turns the check off (tol=None trips an
    # operator-precedence bug in properscoring 0.1). Compared at 1e-6.
    lo, hi = knots[0][1], knots[-1][1]
    return float(ps.crps_quadrature(y, knots_cdf(knots), xmin=min(lo, y), xmax=max(hi, y), tol=1.0))


def print_reference():
    print("# properscoring.crps_ensemble, ensemble x_i = 0.1 + 0.3*((i*7919)%1000)/1000, n = 250")
    for y in ENSEMBLE_Y:
        print(f"ensemble y={y!r}: {float(ps.crps_ensemble(y, np.array(ENSEMBLE)))!r}")
    print("# properscoring.crps_quadrature of the piecewise-linear CDF through the knots", KNOTS)
    for y in KNOTS_Y:
        print(f"knots y={y!r}: {knots_crps(KNOTS, y)!r}")


def write_result(root: Path):
    """A result with base year 2020, horizon 2022, one step a year, 400
    runs of two cells (trade_share.AA, group_share.g) and a summary whose
    step 1 has quantiles only (scored from the quantiles)."""
    rng = np.random.default_rng(20230101)
    runs = 400
    aa = rng.beta(4, 12, size=runs)
    g = rng.lognormal(-1.0, 0.3, size=runs)
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    (root / "manifest.json").write_text(json.dumps({
        "format_version": 1, "engine": "hedgesim", "scenario": "synthetic", "seed": 1, "runs": runs,
        "steps": 2, "steps_per_year": 1, "base_year": 2020, "horizon": 2022, "partners": ["AA", "BB"],
        "groups": ["g"], "quantiles": levels, "runs_table": True, "shard": None,
    }))
    header = "step,year,metric,subject,n,mean,sd,se,ci95_low,ci95_high,min,max," + ",".join(
        f"p{round(p * 100):02d}" for p in levels)
    lines = [header]
    cells = {}
    for step, scale in [(1, 0.9), (2, 1.0)]:
        for metric, subject, xs in [("trade_share", "AA", aa * scale), ("group_share", "g", g * scale)]:
            qs = [float(np.quantile(xs, p)) for p in levels]
            cells[(step, metric, subject)] = (float(xs.min()), list(zip(levels, qs)), float(xs.max()))
            lines.append(",".join(str(v) for v in [step, 2020 + step, metric, subject, runs, repr(float(xs.mean())), "", "", "", "",
                                                   repr(float(xs.min())), repr(float(xs.max()))] + [repr(q) for q in qs]))
    (root / "summary.csv").write_text("\n".join(lines) + "\n")
    rows = ["run,posture,trade_share.AA,group_share.g"]
    rows += [f"{i},hedging,{float(a)!r},{float(b)!r}" for i, (a, b) in enumerate(zip(aa, g))]
    (root / "runs.csv").write_text("\n".join(rows) + "\n")
    obs = ["year,metric,subject,value",
           "2020,trade_share,AA,0.2", "2020,group_share,g,0.4",
           "2021,trade_share,AA,0.31", "2021,group_share,g,0.3",
           "2022,trade_share,AA,0.18", "2022,group_share,g,0.9"]
    (root / "observed.csv").write_text("\n".join(obs) + "\n")
    return {"trade_share.AA": aa, "group_share.g": g}, cells


def check(binary: str) -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs, cells = write_result(root)
        out = subprocess.run([binary, "score", str(root), str(root / "observed.csv"), "--format", "json"],
                             check=True, capture_output=True, text=True).stdout
        score = json.loads(out)
        for row in score["rows"]:
            key = row["metric"] + "." + row["subject"]
            step = int(row["year"]) - 2020
            y = row["observed"]
            if row["method"] == "runs":
                ref = float(ps.crps_ensemble(y, runs[key]))
                tol = 1e-12 * max(1.0, abs(ref))
            else:
                lo, levels, hi = cells[(step, row["metric"], row["subject"])]
                ref = knots_crps([(0.0, lo)] + levels + [(1.0, hi)], y)
                tol = 1e-6  # quadrature over a kinked integrand; see --print
            ok = abs(row["crps"] - ref) <= tol
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {row['year']:.0f} {key:16} {row['method']:9} hedgesim {row['crps']!r} properscoring {ref!r}")
        if len(score["rows"]) != 4:
            print(f"FAIL expected 4 scored rows, got {len(score['rows'])}")
            failures += 1
    print("crps-reference: " + ("all CRPS values match properscoring" if failures == 0 else f"{failures} mismatches"))
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--print":
        print_reference()
    elif len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
