"""joulecast control-channel client: tell a running ``joulecast run`` about phases, epochs, model facts and
metrics, so that it can split the measured energy by phase and report energy per sample.

    import joulecast

    joulecast.meta(model="resnet18", params=11173962, batch_size=128)
    with joulecast.phase("train") as p:
        for epoch in range(epochs):
            ...
            joulecast.epoch(samples=len(train_set), n=epoch)
        p.samples = epochs * len(train_set)      # sent with "end train"
    joulecast.metric(accuracy=0.912, loss=0.31)

Every call does nothing when JOULECAST_SOCKET is unset (the script runs outside joulecast), and never raises
into your program: if joulecast goes away (broken pipe, refused connection) the client goes quiet. Messages
are stamped with time.clock_gettime_ns(time.CLOCK_MONOTONIC), the clock joulecast measures on. Thread-safe;
a forked child (e.g. a DataLoader worker) opens its own connection on its first call. Keys and phase names may
use the characters A-Z a-z 0-9 _ . - (others become "_"). Values may be text or numbers; objects with an
.item() method (numpy and torch scalars) are sent as their item. Standard library only; Python >= 3.9.

Each connection starts with a ``hello`` line naming this process: its rank, local rank, world size and node rank
as the launcher set them (torchrun, Open MPI, MPICH or Slurm variables) and its pid, so that joulecast describes
a distributed job as one job with each rank's own view.
"""

import numbers
import os
import re
import socket
import threading
import time
import weakref

__all__ = ["Client", "begin", "end", "phase", "epoch", "meta", "metric", "enabled", "default_client", "hello_line"]
__version__ = "0.1.0"

_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")
_QUOTE_CHARS = re.compile(r'[\x00-\x20\x7f"\\]')
_SEND_TIMEOUT_S = 2.0


def _name(text):
    return _BAD_NAME_CHARS.sub("_", str(text)) or "_"


def _text(value):
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except Exception:
            pass
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _quote(text):
    if text and not _QUOTE_CHARS.search(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return '"' + escaped + '"'


def format_line(verb, name=None, fields=None, t_ns=None):
    """The wire form of one message, without the newline: ``t=<ns> verb [name] k=v ...``.
    Fields whose value is None are left out."""
    parts = []
    if t_ns is not None:
        parts.append("t=%d" % t_ns)
    parts.append(verb)
    if name is not None:
        parts.append(_name(name))
    for key, value in (fields or {}).items():
        if value is not None:
            parts.append(_name(key) + "=" + _quote(_text(value)))
    return " ".join(parts)


_clients = weakref.WeakSet()


# (launcher, rank, local rank, world size, node rank) variables; the first whose rank holds an integer wins.
# torchrun first: it runs inside Slurm and MPI allocations, and then its ranks are the training processes'.
_LAUNCHERS = (
    ("torchrun", "RANK", "LOCAL_RANK", "WORLD_SIZE", "GROUP_RANK"),
    ("openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_SIZE", None),
    ("mpich", "PMI_RANK", "MPI_LOCALRANKID", "PMI_SIZE", None),
    ("slurm", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_NODEID"),
)


def _is_count(text):
    return text is not None and text.isascii() and text.isdigit()


def hello_line(environ=None, pid=None):
    """The ``hello`` line (no newline) this process sends first on each connection: ``hello rank=R
    local_rank=L world_size=W node_rank=N launcher=NAME pid=P``, with only what the environment holds."""
    environ = os.environ if environ is None else environ
    pid = os.getpid() if pid is None else pid
    parts = ["hello"]
    for launcher, rank, local_rank, world_size, node_rank in _LAUNCHERS:
        if not _is_count(environ.get(rank)):
            continue
        parts.append("rank=" + environ[rank])
        for key, var in (("local_rank", local_rank), ("world_size", world_size), ("node_rank", node_rank)):
            if var is not None and _is_count(environ.get(var)):
                parts.append(key + "=" + environ[var])
        parts.append("launcher=" + launcher)
        break
    parts.append("pid=%d" % pid)
    return " ".join(parts)


def _after_fork_in_child():
    for client in list(_clients):
        client._forget_connection()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Client:
    """One connection to the control channel. ``path`` None means $JOULECAST_SOCKET, read at the first send;
    an empty path disables the client. Most programs use the module-level functions instead."""

    def __init__(self, path=None):
        self._path = path
        self._lock = threading.Lock()
        self._sock = None
        self._state = "unconnected"  # then "connected" or "disabled"
        self._pid = None
        _clients.add(self)

    def _forget_connection(self):
        # In a forked child the inherited socket is the parent's stream, and the lock may be held by a thread
        # that does not exist here: start afresh (closing our copy leaves the parent's connection open).
        self._lock = threading.Lock()
        if self._sock is not None:
            try:
                self._sock.close()
            except Exception:
                pass
        self._sock = None
        if self._state == "connected":
            self._state = "unconnected"

    def _connect(self):
        # Called with the lock held.
        if self._state == "connected" and self._pid != os.getpid():
            self._forget_connection()
        if self._state != "unconnected":
            return self._state == "connected"
        self._state = "disabled"
        path = self._path if self._path is not None else os.environ.get("JOULECAST_SOCKET", "")
        if not path:
            return False
        sock = None
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(_SEND_TIMEOUT_S)
            sock.connect(path)
            sock.sendall((hello_line() + "\n").encode("ascii", "replace"))
        except Exception:
            if sock is not None:
                sock.close()
            return False
        self._sock = sock
        self._pid = os.getpid()
        self._state = "connected"
        return True

    def reset(self):
        """Closes the connection; the next send connects afresh (reading $JOULECAST_SOCKET again when the
        client was made without a path)."""
        try:
            with self._lock:
                if self._sock is not None:
                    self._sock.close()
                self._sock = None
                self._state = "unconnected"
        except Exception:
            pass

    def enabled(self):
        """True when connected to joulecast (connecting now if not tried yet)."""
        try:
            with self._lock:
                return self._connect()
        except Exception:
            return False

    def send_line(self, line):
        """Sends one preformatted line; never raises."""
        try:
            data = (line if line.endswith("\n") else line + "\n").encode("utf-8", "replace")
            with self._lock:
                if not self._connect():
                    return
                try:
                    self._sock.sendall(data)
                except Exception:
                    # joulecast went away or stopped reading: go quiet for good.
                    try:
                        self._sock.close()
                    except Exception:
                        pass
                    self._sock = None
                    self._state = "disabled"
        except Exception:
            pass

    def send(self, verb, name=None, fields=None):
        """Sends ``verb [name] k=v ...`` stamped with CLOCK_MONOTONIC now; never raises."""
        try:
            t_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            self.send_line(format_line(verb, name, fields, t_ns))
        except Exception:
            pass

    def begin(self, name, **fields):
        self.send("begin", name, fields)

    def end(self, name, samples=None, **fields):
        self.send("end", name, dict(samples=samples, **fields))

    def epoch(self, samples=None, n=None, **fields):
        self.send("epoch", None, dict(n=n, samples=samples, **fields))

    def meta(self, **fields):
        if any(v is not None for v in fields.values()):
            self.send("meta", None, fields)

    def metric(self, **fields):
        if any(v is not None for v in fields.values()):
            self.send("metric", None, fields)

    def phase(self, name, samples=None, **fields):
        return _Phase(self, name, samples, fields)


class _Phase:
    """Context manager: "begin <name> [k=v ...]" on entry, "end <name> [samples=N]" on exit (also when the
    block raises). Set or add to ``.samples`` inside the block to report the samples processed."""

    def __init__(self, client, name, samples, fields):
        self._client = client
        self.name = name
        self.samples = samples
        self._fields = fields
        self._ended = False

    def __enter__(self):
        self._client.begin(self.name, **self._fields)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.end()
        return False

    def end(self):
        if not self._ended:
            self._ended = True
            self._client.end(self.name, samples=self.samples)


_default = Client()


def default_client():
    """The Client that the module-level functions use ($JOULECAST_SOCKET)."""
    return _default


def enabled():
    """True when running under joulecast and connected to it."""
    return _default.enabled()


def begin(name, **fields):
    """Starts phase ``name`` (train, infer, eval or any name); phases nest and may overlap."""
    _default.begin(name, **fields)


def end(name, samples=None, **fields):
    """Ends the innermost open phase ``name``; ``samples`` processed in it, when given."""
    _default.end(name, samples=samples, **fields)


def phase(name, samples=None, **fields):
    """``with joulecast.phase("train", samples=60000): ...`` sends begin on entry and end (with samples) on
    exit; ``fields`` go with begin."""
    return _default.phase(name, samples, **fields)


def epoch(samples=None, n=None, **fields):
    """Marks an epoch boundary: ``samples`` processed in the epoch, epoch number ``n``."""
    _default.epoch(samples=samples, n=n, **fields)


def meta(**fields):
    """Model and run facts: ``meta(model="resnet18", params=11173962, macs=556000000, batch_size=128)``."""
    _default.meta(**fields)


def metric(**fields):
    """Numeric results (last value wins, time series kept): ``metric(accuracy=0.912, loss=0.31)``."""
    _default.metric(**fields)
