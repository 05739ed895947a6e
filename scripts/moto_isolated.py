"""moto server with DynamoDB's isolation: requests are handled one at a time.

DynamoDB applies each conditional write and each TransactWriteItems atomically and in isolation (transactions are
serializable). moto's server handles requests on threads and checks a transaction's conditions and applies its writes
without a lock, so two concurrent transactions can both pass a condition that only one of them may pass (seen: 11
actions granted under an hourly cap of 10). The safety tests run concurrent deliveries against the ledger, so the
emulator must give the guarantee the real service gives: this wrapper holds one lock around each request.

Usage: python moto_isolated.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def isolated(environ, start_response):
        with lock:
            # Consume the whole response inside the lock: the request is done when the lock is released.
            return list(app(environ, start_response))

    run_simple(host, port, isolated, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
