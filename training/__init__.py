"""Training, export and evaluation of ecg12's models (needs the ``train`` extra; never imported by ecg12)."""
