"""Keras' backend for every training test, chosen once before any of them imports Keras:
TensorFlow, as on the project's CPU machines (training/__init__.py makes the same choice)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
