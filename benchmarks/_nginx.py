"""nginx as a second benchmark server: the builtin server's responses, from a C server.

``benchmarks.fanout --server nginx`` runs the clients against a real nginx instead of
``benchmarks/_server.py``, so that a reader can check that the ranking of the clients does
not depend on our own server. :func:`nginx_server` writes an nginx.conf into a temporary
directory, starts ``nginx -c <conf> -p <dir>`` in its own process on a free loopback
port, waits (bounded) until it accepts connections, yields its base URL, and on exit
stops it and removes the directory.

The config is generated from ``benchmarks._server.response_for``: the same body, with
nginx's ``$call_id`` (captured from the path) where the ID goes, and the same headers, so
the two servers cannot drift apart. nginx adds ``Server``, ``Date`` and ``Connection``.
Stock nginx cannot wait per request, so there is no ``--latency-ms`` here.

Run: python -m benchmarks._nginx [--seconds 60]; prints ``URL <base url>`` and serves.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Collection, Iterator
from pathlib import Path

from benchmarks._server import response_for

INSTALL_HINT = (
    "nginx is not installed: install it (Debian/Ubuntu: apt-get install nginx-light, "
    "or nginx; macOS: brew install nginx)"
)
# Where nginx lives when it is installed but not on PATH (Debian puts it in /usr/sbin).
_FALLBACK_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
# Temp paths nginx creates at startup (compiled-in defaults under /var/lib/nginx, which a
# non-root user cannot create), keyed by the module that owns the directive.
_TEMP_PATHS = {
    "core": "client_body_temp_path",
    "proxy": "proxy_temp_path",
    "fastcgi": "fastcgi_temp_path",
    "uwsgi": "uwsgi_temp_path",
    "scgi": "scgi_temp_path",
}
_MARKER = b"CALLIDMARKER"
_VARIABLE = "$call_id"
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


def find_nginx() -> str | None:
    """Find the nginx executable.

    Returns:
        Its path: ``nginx`` on PATH, else the usual sbin locations (Debian installs it in
        /usr/sbin, often not on a user's PATH); None when nginx is not installed.
    """
    found = shutil.which("nginx")
    if found:
        return found
    for path in _FALLBACK_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _quote(text: str) -> str:
    """Quote ``text`` as an nginx double-quoted string (for paths and header values)."""
    if "$" in text:
        raise ValueError(f"cannot quote {text!r} for nginx: it contains '$'")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def response_template() -> tuple[str, list[tuple[str, str]], str]:
    """Derive the nginx response from the builtin server's ``response_for``.

    Returns:
        ``(content_type, headers, body)``: the Content-Type, the other headers (name,
        value) in order, without Content-Length, and the body with ``$call_id`` where the
        call ID goes, ready to go between single quotes in an nginx config.

    Raises:
        ValueError: the builtin response cannot be expressed safely in nginx's string
            syntax (a single quote, backslash, ``$`` or control character in the body, or
            not exactly one place for the ID).
    """
    head, _, raw_body = response_for(_MARKER).partition(b"\r\n\r\n")
    body = raw_body.decode("ascii")
    bad = sorted({c for c in body if c in "'\\$" or not c.isprintable()})
    if bad:
        raise ValueError(f"the builtin body has characters nginx would alter: {bad!r}")
    if body.count(_MARKER.decode()) != 1:
        raise ValueError("the builtin body must hold the call ID exactly once")
    content_type = ""
    headers: list[tuple[str, str]] = []
    for line in head.decode("ascii").split("\r\n")[1:]:  # skip the status line
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if name.lower() == "content-length":
            continue  # nginx computes it
        if name.lower() == "content-type":
            content_type = value
        else:
            headers.append((name, value))
    return content_type, headers, body.replace(_MARKER.decode(), _VARIABLE)


def nginx_config(port: int, root: Path, *, without: Collection[str] = ()) -> str:
    """Return the text of an nginx.conf for the benchmark server.

    One worker, no daemon, loopback only, no access log, long keep-alive. ``GET
    /v1/calls/{id}`` answers 200 with the builtin server's body and headers for that ID;
    every other path answers 404 (nginx's HTML page).

    Args:
        port: the TCP port to listen on, on 127.0.0.1.
        root: the directory for the pid file and nginx's temporary directories.
        without: modules this nginx was built without (``"proxy"``, ``"fastcgi"``,
            ``"uwsgi"``, ``"scgi"``), whose temp path directives must then be left out.

    Returns:
        The config text.

    Raises:
        ValueError: the builtin response cannot be expressed in nginx's string syntax,
            or ``root`` contains ``$``.
    """
    content_type, headers, body = response_template()
    temp_paths = "".join(
        f"    {directive} {_quote(str(root / directive.removesuffix('_temp_path')))};\n"
        for module, directive in _TEMP_PATHS.items()
        if module not in without
    )
    add_headers = "".join(
        f"            add_header {name} {_quote(value)} always;\n" for name, value in headers
    )
    return (
        "daemon off;\n"
        "master_process on;\n"
        "worker_processes 1;\n"
        f"pid {_quote(str(root / 'nginx.pid'))};\n"
        "error_log stderr warn;\n"
        "events {\n"
        "    worker_connections 4096;\n"
        "}\n"
        "http {\n"
        "    access_log off;\n"
        "    server_tokens off;\n"
        "    keepalive_requests 1000000;\n"
        "    keepalive_timeout 75s;\n"
        f"{temp_paths}"
        "    server {\n"
        f"        listen 127.0.0.1:{port} backlog=1024;\n"
        "        location ~ ^/v1/calls/(?<call_id>[A-Za-z0-9_]+)$ {\n"
        f"            default_type {_quote(content_type)};\n"
        f"{add_headers}"
        f"            return 200 '{body}';\n"
        "        }\n"
        "        location / {\n"
        "            return 404;\n"
        "        }\n"
        "    }\n"
        "}\n"
    )


def _missing_modules(nginx: str) -> set[str]:
    """Return the modules of ``_TEMP_PATHS`` that ``nginx -V`` says were left out."""
    try:
        out = subprocess.run([nginx, "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return set()
    flags = out.stderr + out.stdout  # nginx -V prints to stderr
    return {m for m in _TEMP_PATHS if f"--without-http_{m}_module" in flags}


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago.

    Returns:
        The port the kernel picked for a socket bound to 127.0.0.1:0, now closed.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop nginx: SIGTERM (fast shutdown), bounded wait, then SIGKILL its process group."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # The group also holds the worker, which killing only the master would leave behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=_STOP_TIMEOUT)


@contextlib.contextmanager
def nginx_server(nginx: str | None = None, start_timeout: float = _START_TIMEOUT) -> Iterator[str]:
    """Start nginx as the benchmark server in its own process; yield its base URL.

    Writes the config of :func:`nginx_config` into a new temporary directory, starts
    ``nginx -c <conf> -p <dir>`` there (its own session, so that it and its worker can
    be stopped together), and waits until it has written its pid file and accepts
    connections. On exit, stops it (SIGTERM, then SIGKILL after 10 s) and removes the
    directory.

    Args:
        nginx: the nginx executable; by default :func:`find_nginx`'s.
        start_timeout: seconds to wait for nginx to accept connections.

    Yields:
        The base URL, ``http://127.0.0.1:PORT``.

    Raises:
        FileNotFoundError: nginx is not installed.
        RuntimeError: nginx exited or did not accept connections within
            ``start_timeout``; the message holds what nginx wrote to stderr.
    """
    executable = nginx or find_nginx()
    if executable is None:
        raise FileNotFoundError(INSTALL_HINT)
    root = Path(tempfile.mkdtemp(prefix="chirp-bench-nginx-"))
    try:
        (root / "logs").mkdir()  # the default error log of builds that log to a file
        port = free_port()
        conf = root / "nginx.conf"
        conf.write_text(nginx_config(port, root, without=_missing_modules(executable)))
        stderr_path = root / "stderr.log"
        with stderr_path.open("wb") as stderr:
            proc = subprocess.Popen(
                [executable, "-c", str(conf), "-p", f"{root}/"],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + start_timeout
            # nginx writes its pid file after binding its socket: a pid file and an open
            # port mean this nginx, not a process that took the port in between, listens.
            while not ((root / "nginx.pid").exists() and _accepts(port)):
                if proc.poll() is not None or time.monotonic() > deadline:
                    what = (
                        f"exited with status {proc.returncode}"
                        if proc.poll() is not None
                        else f"did not accept connections within {start_timeout:g} s"
                    )
                    output = stderr_path.read_text(errors="replace").strip()
                    raise RuntimeError(f"nginx {what} (port {port}): {output or 'no output'}")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    """Serve with nginx for ``--seconds`` seconds (to try it by hand)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if find_nginx() is None:
        raise SystemExit(INSTALL_HINT)
    with nginx_server() as base_url:
        print(f"URL {base_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.seconds)


if __name__ == "__main__":
    main()
