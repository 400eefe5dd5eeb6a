"""Finance endpoints (being built: issue 3)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("finance", __name__, url_prefix="/api/v1/finance")
