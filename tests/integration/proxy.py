"""A TCP proxy for fault injection (as psycopg's tests do): stop, start, make deaf.

``stop()`` closes the listening socket and every open connection (the server looks
down); ``deaf()`` keeps connections open but forwards nothing (the server hangs);
``start()`` / ``hear()`` undo. Use :func:`kafka_through_proxy` so a Kafka client also
reaches the broker's advertised address through the proxy.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace

__all__ = ["Proxy", "kafka_through_proxy"]


class Proxy:
    def __init__(self, target_host: str, target_port: int, listen_port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.port = listen_port
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._deaf = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Proxy:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(64)
        self.port = srv.getsockname()[1]
        self._server = srv
        self._thread = threading.Thread(target=self._accept, args=(srv,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        srv, self._server = self._server, None
        if srv is not None:
            with contextlib.suppress(OSError):
                srv.shutdown(socket.SHUT_RDWR)
            srv.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def deaf(self) -> None:
        self._deaf.set()

    def hear(self) -> None:
        self._deaf.clear()

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                client, _ = srv.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.2)
                if self._deaf.is_set():
                    continue
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    peers[s].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()


@contextlib.contextmanager
def kafka_through_proxy(broker: str, proxy: Proxy) -> Iterator[None]:
    """Make kafka-python in this process reach ``broker`` (host:port) via ``proxy``.

    The broker advertises its own address in metadata; this rewrites that address for
    every client of the process while the context is open.
    """
    from kafka.cluster import ClusterMetadata

    host, port = broker.rsplit(":", 1)
    original = ClusterMetadata.broker_metadata

    def patched(self, broker_id):  # type: ignore[no-untyped-def]
        node = original(self, broker_id)
        if node is not None and node.host in (host, "localhost") and node.port == int(port):
            node = SimpleNamespace(
                node_id=node.node_id,
                nodeId=node.node_id,
                host="127.0.0.1",
                port=proxy.port,
                rack=getattr(node, "rack", None),
            )
        return node

    ClusterMetadata.broker_metadata = patched  # type: ignore[method-assign]
    try:
        yield
    finally:
        ClusterMetadata.broker_metadata = original  # type: ignore[method-assign]
