"""The carrier kinds' pure halves, against requests recorded from the carriers' gateways.

What every kind's prepare_send is given besides the reply and its carrier: the gateway's
public URL (for the dlr-urls it hands out) and the time of sending.
"""

from __future__ import annotations

import datetime as dt

PUBLIC = "https://gw.example.vn"
NOW = dt.datetime(2026, 11, 25, 3, 56, tzinfo=dt.UTC)
