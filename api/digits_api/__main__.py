"""``python -m digits_api``: serve the API with uvicorn, configured by ``DIGITS_API_*`` settings."""

from __future__ import annotations

import logging

import uvicorn

from digits_api.app import create_app
from digits_api.server import uvicorn_options
from digits_api.settings import ApiSettings


def main() -> None:
    settings = ApiSettings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(create_app(settings), **uvicorn_options(settings))


if __name__ == "__main__":
    main()
