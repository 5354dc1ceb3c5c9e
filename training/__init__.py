"""Training, export and evaluation of ecg12's models.

Needs the ``train`` extra; the ecg12 runtime never imports this package.
"""
