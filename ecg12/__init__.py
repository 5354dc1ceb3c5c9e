"""ecg12: a 12-lead ECG estimated from a Lead I recording, or from whichever leads it has.

Run from a checkout (``examples/`` holds a 30 s synthetic Lead I record):

    >>> import ecg12
    >>> rec = ecg12.reconstruct("examples/lead_i.hea")  # or reconstruct(array_mv, fs=512)
    >>> rec.p_signal.shape, rec.sig_name[:3], rec.fs     # (samples, 12) mV at 500 Hz
    ((15000, 12), ['I', 'II', 'III'], 500.0)
    >>> [p.name for p in rec.write("out/", plot=True)]   # never over existing files
    ['lead_i_12lead.dat', 'lead_i_12lead.hea', 'lead_i_12lead.png']
    >>> model = ecg12.load("ekgan")                       # load once, reuse for many files
    >>> model.reconstruct(rec.lead("I"), fs=500).fs
    500.0

A reconstruction is an estimate, not a measured ECG, and ecg12 is not a medical device.
Importing ecg12 is cheap: onnxruntime, wfdb and matplotlib load only when first used.
"""

from importlib.metadata import PackageNotFoundError, version

from ecg12.errors import Ecg12Error, InputError, ModelError
from ecg12.leads import LEAD_NAMES
from ecg12.model import Model, load
from ecg12.pipeline import reconstruct
from ecg12.registry import load_registry
from ecg12.result import Reconstruction

try:
    __version__ = version("ecg12")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "LEAD_NAMES",
    "Ecg12Error",
    "InputError",
    "Model",
    "ModelError",
    "Reconstruction",
    "__version__",
    "load",
    "load_registry",
    "reconstruct",
]
