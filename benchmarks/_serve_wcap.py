"""``python -m benchmarks._serve_wcap CONFIG PORT``: what ``radicale-wcap serve``
does (Instance.from_file, waitress ``Server``, run), without the banner.

Why not the CLI itself: ``cmd_serve`` prints ``"%d" % port`` but waitress
reports ``effective_port`` as a string (``getnameinfo``), so ``serve`` exits
with a TypeError before it serves anything (radicale_wcap at 2026-11-22).
Switch back to ``radicale-wcap --config FILE serve --port N`` once fixed.
"""

import logging
import sys

from radicale_wcap.instance import Instance
from radicale_wcap.server import Server


def main() -> None:
    config, port = sys.argv[1], int(sys.argv[2])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    server = Server(Instance.from_file(config), host="127.0.0.1", port=port)
    print("Listening on http://127.0.0.1:%d" % port, flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
