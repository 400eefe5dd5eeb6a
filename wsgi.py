"""WSGI entry point: ``gunicorn wsgi:app``. Loads ``.env``, then builds the app."""

from dotenv import load_dotenv

from gateway.app import create_app

load_dotenv()
app = create_app()
