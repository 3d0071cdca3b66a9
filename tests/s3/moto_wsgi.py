"""moto's S3 alone, as a WSGI application for gunicorn: every request is an S3 request."""

from moto.moto_server.werkzeug_app import create_backend_app

application = create_backend_app("s3")
