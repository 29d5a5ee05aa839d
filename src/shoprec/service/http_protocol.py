"""uvicorn's HTTP protocol with one change: a request it cannot parse (a request line or headers
over the parser's limits, about 64 KiB, or bytes that are not HTTP) is answered in the API's JSON
error shape instead of uvicorn's plain text, so that every error a client sees has one shape.

`serve` hands `PROTOCOL` (an import string: workers are spawned processes) to uvicorn's `http`
setting. It overrides `send_400_response`, uvicorn's one place for such answers in both of its
parsers (httptools, used when installed, and h11); a test sends a 100 KiB query string through a
real server to check that this still holds after an upgrade.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.h11_impl import H11Protocol

from shoprec.service.problems import error_body

MESSAGE = "the request could not be read as HTTP (is its request line or a header over 64 KiB?)"
_BODY = json.dumps(error_body("invalid_request", MESSAGE)).encode()

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: uvicorn uses h11
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

if HttpToolsProtocol is not None:

    class JsonErrorHttpTools(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        def send_400_response(self, msg: str) -> None:
            head = (b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                    b"content-length: " + str(len(_BODY)).encode() + b"\r\nconnection: close\r\n\r\n")
            self.transport.write(head + _BODY)
            self.transport.close()


class JsonErrorH11(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        import h11

        event = h11.Response(status_code=400, reason=b"Bad Request",
                             headers=[(b"content-type", b"application/json"), (b"connection", b"close")])
        for part in (event, h11.Data(data=_BODY), h11.EndOfMessage()):
            self.transport.write(self.conn.send(part))
        self.transport.close()


PROTOCOL = ("shoprec.service.http_protocol:JsonErrorHttpTools" if HttpToolsProtocol is not None
            else "shoprec.service.http_protocol:JsonErrorH11")
