"""The Flask application factory. It wires things together and does no work."""

from __future__ import annotations

import os

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from gateway import auth, finance, web, webhooks
from gateway.clock import Clock
from gateway.runtime import build_runtime
from gateway.settings import Settings, load_settings


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the web app; with no settings, read them from the environment."""
    settings = settings or load_settings(os.environ)
    app = Flask(__name__, instance_path=str(settings.instance_dir.resolve()), static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["gateway"] = build_runtime(settings, clock)
    web.install(app)
    for blueprint in (webhooks.bp, auth.bp, finance.bp):
        app.register_blueprint(blueprint)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify(status="ok")

    return app
