"""Reconstruct a 12-lead ECG from the bundled Lead I example with the public API.

Run from the repository root: ``python examples/api_example.py``. It writes the 12-lead record
(WFDB) and its clinical printout into ``out/``.
"""

import ecg12

rec = ecg12.reconstruct("examples/lead_i.hea")
rec.write("out/", fmt="wfdb")
rec.plot("out/lead_i_12lead.png")
print(f"{len(rec.sig_name)} leads, {rec.p_signal.shape[0] / rec.fs:g} s at {rec.fs:g} Hz -> out/")
