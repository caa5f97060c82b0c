"""Starting and stopping the C programs the interop tests talk to.

Each program takes the port as its first argument; with port 0 it binds an
ephemeral port on 127.0.0.1 and prints "listening on PORT" first (see
README.md here).
"""
import subprocess


def start_server(path, *args):
    """Starts `path 0 args...`; returns (process, port)."""
    proc = subprocess.Popen([path, "0", *args], stdout=subprocess.PIPE)
    line = proc.stdout.readline().decode()
    if not line.startswith("listening on "):
        proc.kill()
        proc.wait()
        raise RuntimeError("%s did not start: %r" % (path, line))
    return proc, int(line.split()[2])


def stop_server(proc):
    """SIGTERM, then SIGKILL after 5 s; always waits."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
