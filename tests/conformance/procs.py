"""Starting and stopping the programs under test (127.0.0.1 only).

Their output goes to log files, never to pipes we might forget to drain."""

import os
import signal
import subprocess
import time


def start_server(argv, log_path, timeout=10.0):
    """Starts `argv + ["0"]`, which must print `listening on PORT` as its
    first line on stdout. Returns (proc, port); stops it and raises
    RuntimeError when it does not."""
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    out = open(log_path, "wb")
    err = open(log_path + ".stderr", "wb")
    proc = subprocess.Popen(list(argv) + ["0"], stdout=out, stderr=err,
                            stdin=subprocess.DEVNULL)
    out.close()
    err.close()
    proc.log_path = log_path
    deadline = time.monotonic() + timeout
    try:
        while True:
            with open(log_path, "rb") as fh:
                first = fh.readline()
            if first.endswith(b"\n"):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("%s did not print 'listening on PORT' (got %r; %s)"
                                   % (argv[0], first, tail(log_path + ".stderr")))
            time.sleep(0.02)
        parts = first.decode("utf-8", "replace").split()
        if len(parts) < 3 or parts[0] != "listening" or parts[1] != "on":
            raise RuntimeError("unexpected first line from %s: %r" % (argv[0], first))
        return proc, int(parts[2])
    except BaseException:
        stop(proc)
        raise


def start_client(argv, log_path):
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    out = open(log_path, "wb")
    proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    out.close()
    proc.log_path = log_path
    return proc


def tail(path, n=1500):
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        return data[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def stop(proc, timeout=5.0):
    """kill (SIGTERM, then SIGKILL) + wait; returns the exit status."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
