"""``python -m webui``: the embedded app (what `make run` starts)."""
from __future__ import annotations

import logging
import os

from webui.app import create_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    port = int(os.environ.get("PORT", "5000"))
    host = os.environ.get("HOST", "127.0.0.1")
    logging.getLogger(__name__).info("serving on http://%s:%d", host, port)
    app.run(host=host, port=port, threaded=True, use_reloader=False, debug=False)


if __name__ == "__main__":
    main()
