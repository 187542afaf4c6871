"""The supervisor's warm-up of started servers, against stand-ins that speak Streamlit's WebSocket protocol."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.server import ServerConnection, serve

from deploy.cluster import START_TIMEOUT, WARM_UP_PARAM, WARM_UP_TIMEOUT, warm_up, warm_up_all

GUARD = 60.0  # a hard deadline only: a stand-in never waits longer for the other one


@contextmanager
def stand_in(before_finishing: threading.Barrier | None, requests: list[str]) -> Iterator[int]:
    """A server that takes one script run's request and answers ``script_finished`` — once every stand-in
    sharing ``before_finishing`` has received its own request."""

    def handle(connection: ServerConnection) -> None:
        message = BackMsg()
        message.ParseFromString(connection.recv())
        requests.append(message.rerun_script.query_string)
        if before_finishing is not None:
            before_finishing.wait(timeout=GUARD)
        reply = ForwardMsg()
        reply.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
        connection.send(reply.SerializeToString())
        connection.recv()  # until the supervisor leaves

    with serve(handle, "127.0.0.1", 0, subprotocols=["streamlit"]) as server:  # type: ignore[list-item]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.socket.getsockname()[1]
        finally:
            server.shutdown()
            thread.join()


def test_a_warm_up_asks_for_the_start_reads_and_ends_with_the_run() -> None:
    requests: list[str] = []
    with stand_in(None, requests) as port:
        assert warm_up(port) is True
    assert requests == [f"{WARM_UP_PARAM}=start"]


def test_the_servers_of_a_start_are_warmed_up_at_once() -> None:
    """Each stand-in finishes only after both have their request: warmed one after the other, the first
    would wait for the second forever (here: the guard's deadline, and the barrier breaks)."""
    both = threading.Barrier(2)
    requests: list[str] = []
    with ExitStack() as stack:
        ports = [stack.enter_context(stand_in(both, requests)) for _ in range(2)]
        assert warm_up_all(ports) == [True, True]
    assert not both.broken


def test_a_warm_up_may_outlast_the_health_routes_deadline() -> None:
    """At 520,000 enterprises the start's reads took 92–94 s: past the 90 s a server has to answer its
    health route, so the warm-up has a deadline of its own (the supervisor gave up and the first visitor
    met a half-started server)."""
    assert WARM_UP_TIMEOUT >= 2 * 94 > START_TIMEOUT
