"""The raw baseline: a Flask "hello" with nothing of the platform, served like the services are."""

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.post("/hello")
def hello_post() -> tuple[dict[str, str], int]:
    return {"hello": "world"}, 201
