"""dspex Python worker: one process per pool worker, standard library only.

Node spawns this script with five stdio slots: fd 0 is /dev/null, fds 1 and 2 are stdout and
stderr (forwarded line by line to the pool's logger), fd 3 carries requests (Node -> Python) and
fd 4 carries replies (Python -> Node). Frames use dedicated descriptors instead of stdout so that
user code may print() anything without corrupting the protocol.

Every frame, both directions, is a 4-byte big-endian unsigned length N followed by N bytes of
UTF-8 JSON holding one object (see docs/PROTOCOL.md for the full specification):

    start-up  -> {"id": 0, "event": "ready", "pid", "python_version", "commands"}
                 or {"id": 0, "event": "startup_error", "error": {...}} and exit status 3
    request   <- {"id": n, "command": "name", "args": {...}, "session_id": "s" | null,
                  "traceparent": "00-<trace id>-<span id>-<flags>" (optional)}
    reply     -> {"id": n, "result": ...}
                 or {"id": n, "error": {"type", "message", "traceback", "kind"}}

Requests are served one at a time, in order. The worker exits with status 0 when fd 3 reaches
EOF, and a watchdog thread exits it when its parent process (or DSPEX_OWNER_PID) goes away, so
no worker outlives its Node process. On Linux the kernel also kills it (PR_SET_PDEATHSIG) when
Node dies, even while it is stuck in native code holding the GIL, where no thread of it can run.
Node starts it as the leader of its own process group and session, and ends that whole group.
Exit status 2 means fds 3/4 are missing or Node sent a frame that is not a valid request.
"""

import atexit
import builtins
import faulthandler
import importlib
import inspect
import json
import mmap
import os
import platform
import re
import signal
import struct
import sys
import threading
import time
import traceback

_START = time.monotonic()
_REQ_FD = 3
_REP_FD = 4
_MIB = 1 << 20
_MOD = (1 << 61) - 1
_PAGE = os.sysconf("SC_PAGE_SIZE")
_PYTHON_VERSION = platform.python_version()

_HEADER = struct.Struct(">I")
_pack = _HEADER.pack
_unpack = _HEADER.unpack


def _json_default(o):
    raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)


def _make_dumps(ensure_ascii):
    """Compact, strict (no NaN/Infinity: JavaScript's JSON.parse rejects them) JSON encoder.

    Uses the C encoder directly when available: json.dumps() rebuilds it on every call, which
    costs more than encoding a small reply. Without circular-reference markers a cycle ends in
    RecursionError, which is reported like any other unserialisable result.
    """
    c_make = getattr(json.encoder, "c_make_encoder", None)
    if c_make is None:
        return json.JSONEncoder(separators=(",", ":"), ensure_ascii=ensure_ascii, allow_nan=False,
                                check_circular=False, default=_json_default).encode
    encoder = c_make(None, _json_default,
                     json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring,
                     None, ":", ",", False, False, False)
    join = "".join
    return lambda obj: join(encoder(obj, 0))


def _make_loads():
    """json.loads for request bodies, calling the C scanner directly (fast path for Node's output)."""
    scanner = getattr(json.scanner, "c_make_scanner", None)
    if scanner is None:
        return json.loads
    scan_once = scanner(json.JSONDecoder())
    slow = json.loads

    def loads(body):
        text = body.decode("utf-8")
        try:
            obj, end = scan_once(text, 0)
        except StopIteration:
            return slow(text)  # raises the proper JSONDecodeError (or copes with leading spaces)
        return obj if end == len(text) else slow(text)

    return loads


_dumps = _make_dumps(False)
_dumps_ascii = _make_dumps(True)
_loads = _make_loads()

RUN_ID = os.environ.get("DSPEX_RUN_ID", "")
WORKER_ID = os.environ.get("DSPEX_WORKER_ID", "")

_write_lock = threading.Lock()
# perf_counter_ns when the request in progress started, 0 while idle (read by the metrics flusher)
_busy_since = 0

# session_id -> state dict
_sessions = {}
# chunks held by `alloc` (1 MiB anonymous maps, so freeing always returns memory to the OS)
_held = []


# --------------------------------------------------------------------------- output

def _write_all(data):
    """Write all of `data` to fd 4 (one syscall in the normal case). The lock keeps a periodic
    metrics frame (written by another thread, see _start_metrics_flusher) from interleaving."""
    with _write_lock:
        _write_locked(data)


def _write_locked(data):
    n = os.write(_REP_FD, data)
    if n < len(data):
        view = memoryview(data)
        while n < len(view):
            n += os.write(_REP_FD, view[n:])


def _frame(obj):
    """Encode `obj` as one frame. Lone surrogates fall back to \\u escapes (still valid JSON)."""
    try:
        body = _dumps(obj).encode("utf-8")
    except UnicodeEncodeError:
        body = _dumps_ascii(obj).encode("ascii")
    return _pack(len(body)) + body


def _flush_std():
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


def _exit(code):
    """Leave now: flush user output, run atexit handlers, but never wait for user threads."""
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    _flush_std()
    os._exit(code)


def _safe_str(e):
    try:
        return str(e)
    except Exception:
        return "<unprintable %s>" % type(e).__name__


def _error(rid, kind, etype, message, tb=""):
    return _frame({"id": rid, "error": {"type": etype, "message": message, "traceback": tb, "kind": kind}})


def _exception_reply(rid, e, kind="exception", python_ns=-1, decode_ns=0):
    obj = {"id": rid, "error": {"type": type(e).__name__, "message": _safe_str(e), "traceback": traceback.format_exc(), "kind": kind}}
    if python_ns >= 0:
        _add_reply_extras(obj, python_ns, decode_ns)
    return _frame(obj)


# --------------------------------------------------------------------------- reply extras (issue 19)
# What a reply carries besides its result: the timing split ("timing") and the user metrics
# recorded through `import dspex` since the previous frame ("metrics"). Kept apart from the
# request handling so other additions to the protocol merge cleanly.

_TIMING = os.environ.get("DSPEX_TIMING", "1") != "0"
_perf_ns = time.perf_counter_ns
_modules = sys.modules


def _metrics_json():
    """The user metrics recorded since the last frame as JSON text, or None (nothing new).

    The `dspex` module (python/dspex.py, importable because this script's directory is first on
    sys.path) is looked up, not imported: a worker whose code never imports it pays one dict
    lookup per reply, and nothing at start-up."""
    m = _modules.get("dspex")
    if m is None or not hasattr(m, "_drain_json"):
        return None
    try:
        return m._drain_json(_dumps)
    except Exception:  # a bug there must never cost a reply
        return None


def _add_reply_extras(obj, python_ns, decode_ns):
    """Timing (and user metrics) on a reply built as a dict (error replies: rare, not hot)."""
    if _TIMING:
        obj["timing"] = {"python_ns": python_ns, "decode_ns": decode_ns, "encode_ns": 0}
    mj = _metrics_json()
    if mj is not None:
        obj["metrics"] = json.loads(mj)


def _result_frame(rid, result, t_start, t_end, decode_ns):
    """The success reply. The result is encoded alone and the frame assembled around it, so the
    encode time (result to UTF-8 bytes) can travel in the same frame. `t_start`/`t_end` bracket
    the handler (perf_counter_ns); `t_end` is also where encoding starts. Measured per reply on
    CPython 3.11: ~0.4 us with timing, against ~3.5 us for a small echo request in all."""
    try:
        body = _dumps(result).encode("utf-8")
    except UnicodeEncodeError:
        body = _dumps_ascii(result).encode("ascii")
    head = b'{"id":%d,"result":' % rid if builtins.type(rid) is int else b'{"id":' + _dumps(rid).encode("ascii") + b',"result":'
    m = _modules.get("dspex")
    mj = None if m is None else _metrics_json()
    if _TIMING:
        if mj is None:
            tail = b',"timing":{"python_ns":%d,"decode_ns":%d,"encode_ns":%d}}' % (t_end - t_start, decode_ns, _perf_ns() - t_end)
        else:
            tail = b',"timing":{"python_ns":%d,"decode_ns":%d,"encode_ns":%d},"metrics":%s}' % (t_end - t_start, decode_ns, _perf_ns() - t_end, mj.encode("utf-8"))
    else:
        tail = b"}" if mj is None else b',"metrics":' + mj.encode("utf-8") + b"}"
    return b"".join((_pack(len(head) + len(body) + len(tail)), head, body, tail))


# --------------------------------------------------------------------------- built-in commands

def _rss_bytes():
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE


def cmd_ping():
    return {
        "pid": os.getpid(),
        "python_version": _PYTHON_VERSION,
        "uptime_ms": round((time.monotonic() - _START) * 1000, 3),
        "rss_bytes": _rss_bytes(),
    }


def cmd_sleep(ms):
    seconds = _number(ms, "ms") / 1000.0
    if seconds < 0:
        raise ValueError("ms must be >= 0")
    t0 = time.monotonic()
    time.sleep(seconds)
    return {"slept_ms": round((time.monotonic() - t0) * 1000, 3)}


def cmd_compute(size=100000):
    size = _integer(size, "size")
    acc = 0
    for i in range(size):
        acc = (acc + i * i) % _MOD
    return {"size": size, "result": acc}


def cmd_alloc(mb):
    mb = _integer(mb, "mb")
    if mb < 0:
        raise ValueError("mb must be >= 0")
    added = []
    try:
        for _ in range(mb):
            m = mmap.mmap(-1, _MIB)
            for off in range(0, _MIB, _PAGE):  # touch every page so it is really resident
                m[off] = 1
            added.append(m)
    except (OSError, MemoryError) as e:
        for m in added:
            m.close()
        raise MemoryError("could not allocate %d MiB: %s" % (mb, e)) from None
    _held.extend(added)
    return {"held_mb": len(_held)}


def cmd_free(mb=None):
    count = len(_held) if mb is None else min(_integer(mb, "mb"), len(_held))
    if count < 0:
        raise ValueError("mb must be >= 0")
    for _ in range(count):
        _held.pop().close()
    return {"held_mb": len(_held)}


def cmd_fail(type="RuntimeError", message=""):  # noqa: A002 - the protocol names it `type`
    name = str(type)
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, builtins.type) and issubclass(cls, BaseException)):
        cls = builtins.type(name, (Exception,), {})
    elif issubclass(cls, (SystemExit, KeyboardInterrupt, GeneratorExit)):
        cls = RuntimeError
    try:
        exc = cls(message)
    except Exception:  # e.g. UnicodeDecodeError needs five arguments: keep the name
        exc = builtins.type(name, (Exception,), {})(message)
    raise exc


def cmd_crash(code=1):
    _flush_std()
    os._exit(_integer(code, "code"))


def cmd_session_set(session_id, key, value):
    _sessions.setdefault(session_id, {})[key] = value
    return {"ok": True}


def cmd_session_get(session_id, key):
    state = _sessions.get(session_id)
    return None if state is None else state.get(key)


def cmd_session_end(session_id):
    return {"ended": _sessions.pop(session_id, None) is not None}


def _number(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("%s must be a number, got %s" % (name, builtins.type(v).__name__))
    return v


def _integer(v, name):
    v = _number(v, name)
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError("%s must be an integer, got %r" % (name, v))
        v = int(v)
    return v


# Command table: name -> (function, signature to check arguments against or None, session mode).
# Session mode: 0 = none, 1 = receives the session state dict as `dspex_session`,
# 2 = built-in that receives the raw session_id as its first positional argument.
_NO_SESSION, _STATE, _SESSION_ID = 0, 1, 2
COMMANDS = {}


def _register(name, fn, mode=_NO_SESSION, check=True):
    sig = None
    if check:
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        if sig is not None and mode == _SESSION_ID:
            params = list(sig.parameters.values())[1:]
            sig = sig.replace(parameters=params)
        if sig is not None and mode == _STATE:
            sig = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != "dspex_session"])
    COMMANDS[name] = (fn, sig, mode)


def _echo(**args):
    return args


_register("ping", cmd_ping)
_register("echo", _echo, check=False)
_register("sleep", cmd_sleep)
_register("compute", cmd_compute)
_register("alloc", cmd_alloc)
_register("free", cmd_free)
_register("fail", cmd_fail)
_register("crash", cmd_crash)
_register("session_set", cmd_session_set, _SESSION_ID)
_register("session_get", cmd_session_get, _SESSION_ID)
_register("session_end", cmd_session_end, _SESSION_ID)


def _register_module(modname, module):
    for name, obj in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != module.__name__:
            continue
        try:
            wants_session = "dspex_session" in inspect.signature(obj).parameters
        except (TypeError, ValueError):
            wants_session = False
        fn = obj
        if inspect.iscoroutinefunction(obj):  # async def: run each call to completion
            fn = _run_async(obj)
        fn = _with_trace_context(obj, fn)
        _register(modname + "." + name, fn, _STATE if wants_session else _NO_SESSION)


def _run_async(coro_fn):
    import asyncio
    import functools

    @functools.wraps(coro_fn)
    def run(*args, **kwargs):
        return asyncio.run(coro_fn(*args, **kwargs))

    return run


# --------------------------------------------------------------------------- trace context
# A request may carry a W3C `traceparent` (Node's OpenTelemetry bridge, dspex/otel, writes it; see
# docs/PROTOCOL.md). A module function that declares a `dspex_context` parameter receives it, parsed,
# so its logs can carry the caller's trace id. Functions without the parameter cost nothing; the
# request being served is noted in `_request` by _handle (one list store per request).

_TRACEPARENT = re.compile(r"\A([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})\Z")
_request = [None]


def _trace_context(req):
    """The `dspex_context` dict of request `req`: the trace fields are None without a valid traceparent."""
    ctx = {"traceparent": None, "trace_id": None, "span_id": None, "sampled": False,
           "command": None, "session_id": None}
    if builtins.type(req) is not dict:
        return ctx
    ctx["command"] = req.get("command")
    ctx["session_id"] = req.get("session_id")
    tp = req.get("traceparent")
    m = _TRACEPARENT.match(tp) if builtins.type(tp) is str else None
    # W3C trace-context: version ff is invalid, and so are all-zero trace and span ids.
    if m is not None and m.group(1) != "ff" and m.group(2).strip("0") and m.group(3).strip("0"):
        ctx["traceparent"] = tp
        ctx["trace_id"] = m.group(2)
        ctx["span_id"] = m.group(3)
        ctx["sampled"] = (int(m.group(4), 16) & 1) == 1
    return ctx


def _with_trace_context(obj, fn):
    """`fn` (which runs module function `obj`), given `dspex_context` when `obj` declares it."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return fn
    if "dspex_context" not in sig.parameters:
        return fn

    def run(*args, **kwargs):
        if "dspex_context" in kwargs:
            raise TypeError("dspex_context is reserved and cannot be passed in args")
        return fn(*args, dspex_context=_trace_context(_request[0]), **kwargs)

    run.__name__ = getattr(obj, "__name__", "run")
    run.__doc__ = getattr(obj, "__doc__", None)
    # What _register checks arguments against: the function's own parameters but dspex_context.
    run.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != "dspex_context"])
    return run


# --------------------------------------------------------------------------- request handling

class _ProtocolError(Exception):
    pass


_LEADING_ID = re.compile(rb'\s*\{\s*"id"\s*:\s*(\d+)')


def _handle(body):
    """Serve one request frame body; return the reply frame."""
    global _busy_since
    t_decode = _busy_since = _perf_ns()
    try:
        req = _loads(body)
    except ValueError as e:  # includes JSONDecodeError and UnicodeDecodeError
        raise _ProtocolError("request is not valid JSON: %s" % e) from None
    except RecursionError:  # valid JSON nested deeper than Python's recursion limit
        m = _LEADING_ID.match(body)
        if m is None:
            raise _ProtocolError("request is nested too deeply to parse") from None
        return _error(int(m.group(1)), "bad_args", "RecursionError", "args are nested too deeply to parse")
    if builtins.type(req) is not dict or "id" not in req:
        raise _ProtocolError("request is not an object with an id")
    rid = req["id"]
    _request[0] = req  # for dspex_context (see "trace context")
    command = req.get("command")
    entry = COMMANDS.get(command) if builtins.type(command) is str else None
    if entry is None:
        return _error(rid, "unknown_command", "UnknownCommandError", "unknown command: %r" % (command,))
    args = req.get("args")
    if args is None:
        args = {}
    elif builtins.type(args) is not dict:
        return _error(rid, "bad_args", "TypeError",
                      "args must be an object, got %s" % builtins.type(args).__name__)
    fn, sig, mode = entry
    t_start = _perf_ns()
    decode_ns = t_start - t_decode

    try:
        if mode == _NO_SESSION:
            result = fn(**args)
        else:
            sid = req.get("session_id")
            if sid is None:
                return _error(rid, "bad_args", "ValueError", "session_id is required")
            if builtins.type(sid) is not str:
                return _error(rid, "bad_args", "TypeError", "session_id must be a string or null")
            if mode == _SESSION_ID:
                result = fn(sid, **args)
            else:
                if "dspex_session" in args:
                    return _error(rid, "bad_args", "TypeError", "dspex_session is reserved and cannot be passed in args")
                state = _sessions.get(sid)
                if state is None:
                    state = _sessions[sid] = {}
                result = fn(dspex_session=state, **args)
    except SystemExit:
        raise
    except TypeError as e:
        # Arguments are checked only when a call fails (binding them up front cost ~1.7 us per
        # call): a TypeError is `bad_args` when the args do not bind to the signature (Python
        # raised it before running the function), else the function's own exception.
        if sig is not None:
            try:
                sig.bind(**args)
            except TypeError as bind_error:
                return _error(rid, "bad_args", "TypeError", "%s: %s" % (command, _safe_str(bind_error)))
        return _exception_reply(rid, e, python_ns=_perf_ns() - t_start, decode_ns=decode_ns)
    except BaseException as e:
        return _exception_reply(rid, e, python_ns=_perf_ns() - t_start, decode_ns=decode_ns)
    t_end = _perf_ns()

    try:
        return _result_frame(rid, result, t_start, t_end, decode_ns)
    except Exception as e:  # TypeError, ValueError (NaN), RecursionError (cycles), MemoryError...
        return _exception_reply(rid, e, "serialization", t_end - t_start, decode_ns)


# --------------------------------------------------------------------------- process plumbing

def _parse_argv(argv):
    global RUN_ID, WORKER_ID
    for arg in argv:
        if arg.startswith("--dspex-run-id="):
            RUN_ID = arg.split("=", 1)[1]
        elif arg.startswith("--dspex-worker-id="):
            WORKER_ID = arg.split("=", 1)[1]
    # User modules (imported after this) can read their slot from the environment, as documented.
    if WORKER_ID:
        os.environ["DSPEX_WORKER_ID"] = WORKER_ID


def _owner_pid():
    """The Node process that started this worker (DSPEX_OWNER_PID), or 0 when unknown."""
    try:
        return int(os.environ.get("DSPEX_OWNER_PID", "") or 0)
    except ValueError:
        return 0


def _die_with_parent():
    """On Linux, have the kernel SIGKILL this process when its parent dies (PR_SET_PDEATHSIG).

    The watchdog thread below cannot run while the main thread holds the GIL in native code (a C
    extension, a long `re` match); the kernel needs no thread of ours. The signal fires when the
    parent THREAD that forked us exits, not the parent process: Node spawns workers from its main
    thread (libuv's uv_spawn runs on the event-loop thread), which lives as long as Node. (A pool
    created in a worker_threads Worker spawns from that thread: its exit kills the workers, which
    would see EOF on fd 3 then anyway.) Children of this process do not inherit the setting: Node
    ends them through this process's group (see src/pool/pool-worker.ts).

    Node may have died before prctl ran; then the parent is already another process and the signal
    will never come: compare the parent with the owner Node pid, and leave if that one is gone.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, 9, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG, SIGKILL
            return
    except Exception:  # no ctypes (some minimal builds), no prctl symbol: the watchdog remains
        return
    owner = _owner_pid()
    if owner > 0 and os.getppid() != owner:
        # Node died before prctl ran (we were reparented: no signal will come), or a wrapper sits
        # between Node and us. Leave in the first case: the owner is gone, or a zombie.
        try:
            with open("/proc/%d/stat" % owner, "rb") as f:
                stat = f.read()
        except FileNotFoundError:
            os._exit(0)
        except OSError:
            return  # unreadable: it exists
        if stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X"):
            os._exit(0)


def _start_watchdog():
    parent = os.getppid()
    owner = _owner_pid()
    # A parent that already is pid 1 (Node as a container's init) is legitimate: only a change counts.

    def watch():
        while True:
            time.sleep(0.25)
            if os.getppid() != parent:
                os._exit(0)
            if owner > 0:
                try:
                    os.kill(owner, 0)
                except ProcessLookupError:
                    os._exit(0)
                except OSError:
                    pass  # EPERM: it exists

    threading.Thread(target=watch, name="dspex-watchdog", daemon=True).start()


# --------------------------------------------------------------------------- stack dumps (issue 19)

_stack_file = None  # held for the life of the process: faulthandler keeps only its fd


def _register_stack_dump():
    """Dump every thread's traceback to the fd named by DSPEX_STACK_FD on SIGUSR2.

    faulthandler writes from its C signal handler, without the GIL and without running any Python
    code, so the dump comes while the main thread is busy in Python (or even stuck in C code that
    holds the GIL); the process goes on as if nothing happened. Returns True when registered: Node
    signals only such workers (SIGUSR2's default action would end the process).
    """
    global _stack_file
    try:
        fd = int(os.environ.get("DSPEX_STACK_FD", "") or -1)
    except ValueError:
        return False
    if fd < 0 or not hasattr(signal, "SIGUSR2"):
        return False
    try:
        os.fstat(fd)
        os.set_inheritable(fd, False)
        _stack_file = os.fdopen(fd, "wb", buffering=0, closefd=False)
        faulthandler.register(signal.SIGUSR2, file=_stack_file, all_threads=True, chain=False)
    except (OSError, ValueError, RuntimeError):
        return False
    return True


def _start_metrics_flusher():
    """During a call longer than DSPEX_METRICS_INTERVAL_MS (default 1000), send the user metrics
    recorded so far in frames of their own ({"id": 0, "event": "metrics", "metrics": [...]}), so a
    long call's figures show before it ends. Never touches the call itself."""
    try:
        interval = max(50, int(os.environ.get("DSPEX_METRICS_INTERVAL_MS", "") or 1000)) / 1000.0
    except ValueError:
        interval = 1.0
    interval_ns = int(interval * 1e9)

    def flush():
        while True:
            time.sleep(interval)
            since = _busy_since
            m = _modules.get("dspex")
            if since == 0 or m is None or _perf_ns() - since < interval_ns or not getattr(m, "_has_pending", bool)():
                continue
            mj = _metrics_json()
            if mj is None:
                continue
            body = ('{"id":0,"event":"metrics","metrics":%s}' % mj).encode("utf-8")
            try:
                _write_all(_pack(len(body)) + body)
            except OSError:
                return

    threading.Thread(target=flush, name="dspex-metrics", daemon=True).start()


def _import_modules():
    names = [n.strip() for n in os.environ.get("DSPEX_MODULES", "").split(",") if n.strip()]
    for name in names:
        if any(cmd.startswith(name + ".") for cmd in COMMANDS):
            continue  # listed twice
        try:
            module = importlib.import_module(name)
        except BaseException as e:
            _write_all(_frame({"id": 0, "event": "startup_error", "error": {
                "type": type(e).__name__, "message": _safe_str(e), "traceback": traceback.format_exc()}}))
            _exit(3)
        _register_module(name, module)


def main():
    global _busy_since
    _die_with_parent()
    _parse_argv(sys.argv[1:])
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.reconfigure(line_buffering=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _start_watchdog()

    try:
        for fd in (_REQ_FD, _REP_FD):
            os.set_blocking(fd, True)
            os.set_inheritable(fd, False)  # subprocesses of user code must not hold the protocol pipes
        reader = os.fdopen(_REQ_FD, "rb", buffering=65536)
    except OSError as e:
        sys.stderr.write("dspex_worker: fds 3 (requests) and 4 (replies) must be open: %s\n" % e)
        _exit(2)

    stack_dump = _register_stack_dump()
    try:
        _import_modules()
        _write_all(_frame({"id": 0, "event": "ready", "pid": os.getpid(),
                           "python_version": _PYTHON_VERSION, "commands": list(COMMANDS),
                           "stack_dump": stack_dump}))

        _start_metrics_flusher()
        read = reader.read
        header_size = _HEADER.size
        handle = _handle
        write_all = _write_all
        unpack = _unpack
        while True:
            header = read(header_size)
            if len(header) < header_size:
                break
            n = unpack(header)[0]
            body = read(n)
            if len(body) < n:
                break
            reply = handle(body)  # sets _busy_since
            _busy_since = 0
            write_all(reply)
    except _ProtocolError as e:
        sys.stderr.write("dspex_worker: protocol error, exiting: %s\n" % e)
        _exit(2)
    except OSError:  # fd 3/4 closed or broken: Node is gone
        pass
    except SystemExit as e:  # user code called sys.exit(): honour it, without waiting for threads
        code = e.code
        if code is not None and not isinstance(code, int):
            sys.stderr.write("%s\n" % (code,))
            code = 1
        _exit(code or 0)
    _exit(0)


if __name__ == "__main__":
    main()
