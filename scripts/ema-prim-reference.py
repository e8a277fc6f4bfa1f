#!/usr/bin/env python3
"""Reference PRIM trajectory from EMA Workbench for src/explore/prim.rs.

The data are a deterministic Kronecker sequence (x_ij = frac((i + 1) a_j)),
computed identically in the Rust test, with a known box (x0 > 0.6 and
x1 < 0.3) and deterministic label noise. Run once and paste the output into
the test `reproduces_ema_workbench_trajectory`:

    /tmp/salibenv/bin/pip install ema_workbench
    /tmp/salibenv/bin/python scripts/ema-prim-reference.py

Checked with EMA Workbench 2.5.3.
"""
import math
from importlib.metadata import version

import numpy as np
import pandas as pd
from ema_workbench.analysis import prim

A = [0.7548776662466927, 0.5698402909980532, 0.6180339887498949]
N = 1000


def frac(v):
    return v - math.floor(v)


x = pd.DataFrame({f"x{j}": [frac((i + 1) * a) for i in range(N)] for j, a in enumerate(A)})
noise = [frac((i + 1) * 0.1234567) < 0.1 for i in range(N)]
y = np.array([((r.x0 > 0.6) and (r.x1 < 0.3)) != nz for r, nz in zip(x.itertuples(), noise)], dtype=int)

p = prim.Prim(x, y, threshold=0.8) if "threshold" in prim.Prim.__init__.__code__.co_varnames else prim.Prim(x, y)
box = p.find_box()
print("# EMA Workbench", version("ema_workbench"), "cases", int(y.sum()))
t = box.peeling_trajectory
for i in range(len(t)):
    lims = box.box_lims[i]
    print(
        f"({float(t['coverage'][i])!r}, {float(t['density'][i])!r}, {float(t['mass'][i])!r}, {int(t['res_dim'][i])}, "
        f"[{', '.join(f'({float(lims[c][0])!r}, {float(lims[c][1])!r})' for c in x.columns)}]),"
    )
