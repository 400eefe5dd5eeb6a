"""The paid SMS channel: a carrier posts ``BH MK <number>`` to 8079, we decide, charge and reply.

Carrier intake (``webhooks``, ``inbox``), the recovery use case (``recovery``, the worker's entry
point, decided in batches by ``batch`` with ``batch_store`` under the ``rules``) and the simulator.
A message for a keyword service (``BH QT``...) is queued in ``service_forwards`` for the worker's
services entry point (gateway/services/), which this package never imports.
May import ``accounts``, ``delivery``, ``ops`` and the core; never ``email`` or the CLI.
"""
