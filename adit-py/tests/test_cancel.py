"""Ctrl-C cancels a blocking call: a C-ECHO to a peer that accepts TCP but never answers the
association request raises KeyboardInterrupt promptly instead of waiting for the timeout."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

# A Python started by a non-interactive shell's background job inherits SIGINT *ignored*, and
# then does not install its KeyboardInterrupt handler; a user's terminal session has it. Install
# it explicitly so the test runs the same wherever the test suite was started from.
SCRIPT = """
import signal
import sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from adit_rs import Node
node = Node.dimse("SILENT", "127.0.0.1", int(sys.argv[1]))
try:
    node.echo()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
print("echo returned", flush=True)
"""


def test_ctrl_c_interrupts_a_waiting_call():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(60)
        port = listener.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # The client is inside echo() once it has connected; it then waits for our
            # A-ASSOCIATE-AC, which never comes.
            conn, _ = listener.accept()
            with conn:
                started = time.monotonic()
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=30)
                elapsed = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 3, (proc.returncode, out, err)
    assert "interrupted" in out
    # Far below the association timeout the call would otherwise wait for.
    assert elapsed < 10, elapsed
