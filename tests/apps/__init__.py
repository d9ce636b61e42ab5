"""Small apps the integration tests run under real servers (gunicorn, uvicorn)."""
