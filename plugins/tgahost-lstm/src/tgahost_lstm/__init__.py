"""tgahost-lstm: a byte-level LSTM target generation algorithm (``lstm_ip``) for tgahost.

The plugin module registers through the ``tgahost`` entry-point group; torch is imported
only when a model is trained or sampled.
"""

__version__ = "0.1.0"
