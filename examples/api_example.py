"""Reconstruct a 12-lead ECG from the bundled Lead I example with the public API.

``python examples/api_example.py`` writes the 12-lead record (WFDB) and its clinical printout
into ``out/`` under the current folder.
"""

from pathlib import Path

import ecg12

example = Path(__file__).with_name("lead_i.hea")
rec = ecg12.reconstruct(example)  # any rate, any length; Lead I in mV
rec.write("out/", fmt="wfdb", overwrite=True)
rec.plot("out/lead_i_12lead.png")
print(
    f"{len(rec.sig_name)} leads, {rec.duration_s:g} s at {rec.fs:g} Hz, model {rec.model} -> out/"
)
for warning in rec.warnings:
    print("warning:", warning)
