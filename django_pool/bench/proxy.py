"""RoundTripCounter: a loopback TCP proxy that counts the client's round trips.

Elapsed time moves with machine load; the number of times a client has to
talk to the server does not. The proxy sits between Django and the server and
counts *bursts*: client data arriving when the last thing on that connection
was server data (or nothing). With a request/response protocol that is one
round trip, however many packets a message takes.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

__all__ = ["RoundTripCounter"]


class RoundTripCounter:
    """Forward 127.0.0.1:<port> to *upstream*; count client round trips and connections."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.round_trips = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="round-trip-proxy", daemon=True)
        self._thread.start()

    def reset(self) -> tuple[int, int]:
        """Return (round trips, connections) so far and start counting from zero."""
        with self._lock:
            counts = (self.round_trips, self.connections)
            self.round_trips = self.connections = 0
        return counts

    def close(self) -> None:
        """Stop forwarding and close every socket."""
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        self._listener.setblocking(False)
        selector.register(self._listener, selectors.EVENT_READ, None)
        # socket -> (peer socket, True if this socket is the client side, shared state)
        routes: dict[socket.socket, tuple[socket.socket, bool, list[bool]]] = {}
        while not self._stopping.is_set():
            for key, _ in selector.select(timeout=0.1):
                sock = key.fileobj
                if sock is self._listener:
                    self._accept(selector, routes)
                    continue
                if sock not in routes:  # its peer's close, in this same batch, closed it
                    continue
                peer, from_client, state = routes[sock]
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    for s in (sock, peer):
                        if s in routes:
                            selector.unregister(s)
                            routes.pop(s)
                            s.close()
                    continue
                if from_client and not state[0]:
                    with self._lock:
                        self.round_trips += 1
                state[0] = from_client  # "the client spoke last"
                # If the peer is gone, its own read will see the close.
                with contextlib.suppress(OSError):
                    peer.sendall(data)
        for sock in list(routes):
            sock.close()
        selector.close()

    def _accept(self, selector, routes) -> None:
        client, _ = self._listener.accept()
        server = socket.create_connection(self.upstream)
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(True)
        state = [False]
        routes[client] = (server, True, state)
        routes[server] = (client, False, state)
        selector.register(client, selectors.EVENT_READ, None)
        selector.register(server, selectors.EVENT_READ, None)
        with self._lock:
            self.connections += 1
