"""Training, export and evaluation of ecg12's models.

Needs the ``train`` extra; the ecg12 runtime never imports this package.
"""

import os

# Keras reads its backend once, at its first import: TensorFlow on CPUs (the project's machines),
# unless the caller chose (KERAS_BACKEND=jax on a GPU without TensorFlow).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
