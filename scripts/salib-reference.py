#!/usr/bin/env python3
"""Reference values from SALib 1.6 for the tests of src/explore/.

Run once (numbers are pasted into the Rust tests with a comment naming this
script):

    python3 -m venv /tmp/salibenv
    /tmp/salibenv/bin/pip install scipy SALib numpy
    /tmp/salibenv/bin/python scripts/salib-reference.py

Checked with SALib 1.6.0, SciPy 1.17.1, NumPy 2.4.
"""
import numpy as np
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from SALib.test_functions import Ishigami
from scipy.stats import qmc

from importlib.metadata import version

print("SALib", version("SALib"), "SciPy", version("scipy"), "NumPy", version("numpy"))
np.set_printoptions(precision=17)

ishigami = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}

print("\n# qmc.Sobol(d=4, scramble=False).random(8)")
print(qmc.Sobol(d=4, scramble=False).random(8))

for second in (False, True):
    X = sobol_sample.sample(ishigami, 1024, calc_second_order=second, scramble=False)
    Y = Ishigami.evaluate(X)
    Si = sobol_analyze.analyze(ishigami, Y, calc_second_order=second, seed=1)
    print(f"\n# Ishigami, N = 1024, unscrambled, calc_second_order={second}")
    print("S1 =", [float(v) for v in Si["S1"]])
    print("ST =", [float(v) for v in Si["ST"]])
    print("S1_conf =", [float(v) for v in Si["S1_conf"]])
    if second:
        print("S2 =", [(j, k, float(Si["S2"][j, k])) for j in range(3) for k in range(j + 1, 3)])

# Morris: SALib's own trajectories (pasted into the Rust test) on a
# polynomial with known effects: y = 2 x1 + x2^2 + 3 x1 x3 + 0 x4.
morris_problem = {"num_vars": 4, "names": ["a", "b", "c", "d"], "bounds": [[0, 1], [0, 2], [-1, 1], [0, 1]]}
X = morris_sample.sample(morris_problem, 6, num_levels=4, seed=3)


def poly(x):
    return 2 * x[:, 0] + x[:, 1] ** 2 + 3 * x[:, 0] * x[:, 2] + 0 * x[:, 3]


Y = poly(X)
Si = morris_analyze.analyze(morris_problem, X, Y, num_levels=4, seed=3)
print("\n# Morris sample (6 trajectories, p = 4, seed 3)")
print("X = [")
for row in X:
    print("    [" + ", ".join(repr(float(v)) for v in row) + "],")
print("]")
for key in ("mu", "mu_star", "sigma", "mu_star_conf"):
    print(key, "=", [float(v) for v in Si[key]])

# A complete check of the unscrambled Sobol' points in many dimensions:
# FNV-1a (64-bit) over the 30-bit integers of the first 256 points of
# qmc.Sobol(d=1024, scramble=False), row-major, each as 4 little-endian bytes.
points = qmc.Sobol(d=1024, scramble=False).random(256)
h = 0xCBF29CE484222325
for q in np.rint(points * 2**30).astype(np.uint64).ravel():
    for byte in int(q).to_bytes(4, "little"):
        h ^= byte
        h = (h * 0x100000001B3) % 2**64
print("\n# FNV-1a of qmc.Sobol(d=1024, scramble=False).random(256) as 30-bit integers")
print(hex(h))
