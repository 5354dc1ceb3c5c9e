"""``python -m ecg12`` is the ``ecg12`` command."""

from ecg12.cli import main

main()
