#!/usr/bin/env python3
"""Writes src/explore/sobol_directions.txt: the Sobol' direction numbers of the
first 1024 dimensions exactly as SciPy stores them (Joe & Kuo 2008,
new-joe-kuo-6.21201, in scipy/stats/_sobol_direction_numbers.npz).

One line per dimension: the primitive polynomial (SciPy's `poly`, with its
leading and trailing bits) followed by its initial direction numbers m_1..m_s
(s = degree). Dimension 0 (poly 1, degree 0) is the van der Corput sequence.

Run: python3 scripts/sobol-directions.py > src/explore/sobol_directions.txt
(needs numpy and scipy; checked with scipy 1.17.1).
"""
import os

import numpy as np
import scipy.stats

DIMS = 1024

data = np.load(os.path.join(os.path.dirname(scipy.stats.__file__), "_sobol_direction_numbers.npz"))
poly, vinit = data["poly"], data["vinit"]
for d in range(DIMS):
    p = int(poly[d])
    degree = p.bit_length() - 1
    print(" ".join(str(v) for v in [p] + [int(x) for x in vinit[d, :degree]]))
