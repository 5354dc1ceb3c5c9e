"""ecg12: a 12-lead ECG estimated from Lead I."""
