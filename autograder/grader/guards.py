"""The reference-call guard: did a call reach a forbidden reference implementation?

A hidden check calls the student's code inside :func:`watch`; every forbidden
reference reached during the call is recorded, however it was reached:

* a Python function by the *fingerprint* of its code (its instructions with the
  constants and names they load, and nested code; not its file, line numbers, local
  variable names or unused constants), so an alias, a module attribute, a closure, a
  re-import, ``importlib.reload``, an ``exec`` of the module's file, a verbatim copy, a
  copy with renamed locals or a code object rebuilt with an extra constant all meet the
  same function;
* a built-in function by identity;
* a torch operator at the dispatcher (a ``TorchDispatchMode``), where every route meets:
  ``F.conv2d``, ``nn.Conv2d``, ``torch.ops.aten.convolution``.

A forbidden dotted name may also be a module: every function defined in it is then
forbidden. The guard sees the calling thread only (the sandbox allows the student
no other thread). It runs in two places: imported by the hidden checks when nbgrader
grades in the student's kernel, and inside the sandbox beside the runtime (sent as
source), so it imports only the standard library, and torch only once the submission
has imported it. A callback a check hands to the student runs under the same watch: it
must not use a forbidden function itself.
"""

from __future__ import annotations

import contextlib
import dis
import gc
import hashlib
import importlib
import _signal
import signal
import sys
import threading
import types

__all__ = ["ANY_OP", "Forbidden", "armed", "fingerprint", "record", "watch"]

#: In ``Forbidden(ops=...)``: every torch operator. An operator not named otherwise is
#: recorded as :data:`A_TORCH_OPERATOR`, never by its name (a submission may register an
#: operator and name it after what it read).
ANY_OP = "*"
A_TORCH_OPERATOR = "torch (a NumPy-only task reaches no torch operator)"
#: A signal handler in Python: CPython may run it inside the guard's profile function,
#: where nothing is watched.
A_SIGNAL_HANDLER = "a signal handler of its own (it may run where the guard sees nothing)"


# ---------------------------------------------------------------------------
# fingerprints
# ---------------------------------------------------------------------------

_SKIP_OPS = frozenset(dis.opmap[n] for n in ("CACHE", "NOP", "RESUME") if n in dis.opmap)
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
_CONST_OPS = frozenset(dis.hasconst)
_NAME_OPS = frozenset(dis.hasname)
#: Name operations whose argument holds flags in its low bits (the name's index above).
_NAME_SHIFT = {dis.opmap[n]: k for n, k in (("LOAD_GLOBAL", 1), ("LOAD_ATTR", 1),
                                            ("LOAD_SUPER_ATTR", 2)) if n in dis.opmap}
if sys.version_info < (3, 12):
    _NAME_SHIFT.pop(dis.opmap.get("LOAD_ATTR"), None)


#: The constants a compiler makes, besides code, tuples and frozensets: read by their
#: exact type (compared by identity), whose repr is the interpreter's own.
_PLAIN_CONSTS = (str, bytes, float, complex, type(None), type(Ellipsis))


def _const_key(const) -> str:
    """A constant's part of a fingerprint. Nothing of the constant's runs (the profile
    function fingerprints code the submission made, whose constants may be its objects):
    a constant of another type than the compiler makes counts by its identity."""
    kind = type(const)
    if kind is types.CodeType:
        return "code:" + fingerprint(const)
    if kind is frozenset:  # its repr's order depends on the hash seed
        return repr(sorted(map(_const_key, const)))
    if kind is tuple:
        return "(" + ",".join(map(_const_key, const)) + ")"
    if kind is int or kind is bool:  # hex: an int of any size has one (repr stops at 4300 digits)
        return f"({kind.__name__!r}, {const:#x})"
    for plain in _PLAIN_CONSTS:
        if kind is plain:
            return repr((kind.__name__, const))
    return f"(?, {id(const)})"


#: Opcodes that mean the same for the fingerprint. Python 3.11 compiles ``math.floor(x)``
#: as LOAD_GLOBAL (with NULL) + LOAD_ATTR when ``math`` is imported in the same source and
#: LOAD_GLOBAL + LOAD_METHOD when it is not: a verbatim copy pasted without its imports.
_SAME_OP = {dis.opmap[a]: dis.opmap[b] for a, b in (("LOAD_METHOD", "LOAD_ATTR"),)
            if a in dis.opmap and b in dis.opmap}
#: Name operations whose flag bits do not count (LOAD_GLOBAL's "push NULL" goes with the
#: spelling above).
_FLAGS_IGNORED = frozenset(dis.opmap[n] for n in ("LOAD_GLOBAL",) if n in dis.opmap)

_JUMPS = frozenset(dis.hasjrel)
_BACKWARD = frozenset(op for op in _JUMPS if "BACKWARD" in dis.opname[op])
_CACHES = getattr(dis, "_inline_cache_entries", [0] * 256)

#: What each opcode's argument means for the fingerprint: 0 the argument itself, 1 skip
#: the instruction, 2 a constant's index, 3.. a name's index shifted by (kind - 3) bits.
_KIND = bytearray(256)
for _op in _SKIP_OPS:
    _KIND[_op] = 1
for _op in _CONST_OPS:
    _KIND[_op] = 2
for _op in _NAME_OPS:
    _KIND[_op] = 3 + _NAME_SHIFT.get(_op, 0)


def _shape(code: types.CodeType) -> int:
    """The part of a fingerprint read without decoding the code: two codes of different
    shapes never share a fingerprint, so most codes need no fingerprint at all. An int,
    not a tuple: the profile function computes it for every call, and must allocate
    nothing the collector tracks (see :func:`_profiler`)."""
    return (code.co_argcount | code.co_posonlyargcount << 16 | code.co_kwonlyargcount << 32
            | (code.co_flags & 0xFF) << 48)


def _instructions(raw: bytes) -> list:
    """``[(offset, opcode, argument)]`` of the instructions that count (EXTENDED_ARG folded
    into the argument it extends; caches, NOPs and RESUME left out)."""
    out, ext = [], 0
    for i in range(0, len(raw) - 1, 2):
        op, arg = raw[i], raw[i + 1] | ext
        ext = arg << 8 if op == _EXTENDED_ARG else 0
        if op != _EXTENDED_ARG and _KIND[op] != 1:
            out.append((i, op, arg))
    return out


def _jump_target(offset: int, op: int, arg: int) -> int:
    back = -arg if op in _BACKWARD else arg
    return offset + 2 + 2 * back + (2 * _CACHES[op] if sys.version_info >= (3, 12) else 0)


def _feed(h, code: types.CodeType) -> None:
    """What the code does: its instructions, each constant load resolved to the constant
    it loads (an unused constant does not count), each name load to the name; locals by
    slot (not by name), jumps by the number of instructions they skip; its argument
    counts and flags. Not its file, lines, local names, unused constants or the cache
    entries between instructions (which differ between two spellings of one call)."""
    h.update(repr(_shape(code)).encode())
    consts, names = code.co_consts, code.co_names
    steps = _instructions(code.co_code)
    position = {offset: n for n, (offset, _, _) in enumerate(steps)}
    ops, keys = bytearray(), []
    for n, (offset, op, arg) in enumerate(steps):
        k = _KIND[op]
        ops.append(_SAME_OP.get(op, op))
        if op in _JUMPS:
            target = _jump_target(offset, op, arg)
            to = position.get(target)
            if to is None:  # lands on a skipped instruction: the next one that counts
                to = next((m for m, st in enumerate(steps) if st[0] >= target), len(steps))
            ops += ((to - n) & 0xFFFF).to_bytes(2, "little")
        elif k == 0:
            ops += (arg & 0xFFFF).to_bytes(2, "little")
        elif k == 2:
            ops.append(0)
            keys.append(_const_key(consts[arg]) if arg < len(consts) else str(arg))
        else:
            shift = k - 3
            ops.append(0 if op in _FLAGS_IGNORED else arg & ((1 << shift) - 1))
            m = arg >> shift
            keys.append(names[m] if m < len(names) else str(m))
    h.update(bytes(ops))
    h.update("\0".join(keys).encode())


def fingerprint(code: types.CodeType) -> str:
    """A digest of what ``code`` does, equal for every compilation of the same source."""
    h = hashlib.sha256()
    _feed(h, code)
    return h.hexdigest()[:32]


# ---------------------------------------------------------------------------
# what is forbidden
# ---------------------------------------------------------------------------

# What the guard reads of modules, classes, specs and functions it is resolving, it reads
# through these, captured before any submission ran: it may resolve inside its profile
# function, where nothing of the submission's may run, and a module, a spec or a
# function's namespace may be the submission's (a property, ``__getattr__``, a key whose
# ``__eq__`` a lookup would call).
_ModuleSpec = type(sys.__spec__)
_module_dict = types.ModuleType.__dict__["__dict__"].__get__
_class_dict = type.__dict__["__dict__"].__get__
_function_dict = types.FunctionType.__dict__["__dict__"].__get__
_spec_dict = _ModuleSpec.__dict__["__dict__"].__get__


def _plain(namespace) -> bool:
    """Whether every key is a str (a lookup compares the keys with equal hashes). Types
    are compared by identity: hashing or comparing them could run a metaclass's code."""
    for key in namespace:
        if type(key) is not str:
            return False
    return True


def _namespace(obj):
    """The own namespace of an exact module or of a class, if its keys are plain; else
    None. Nothing of ``obj``'s runs."""
    if type(obj) is types.ModuleType:
        namespace = _module_dict(obj)
    elif issubclass(type(obj), type):
        namespace = _class_dict(obj)
    else:
        return None
    return namespace if _plain(namespace) else None


def _importing(spec) -> bool:
    """Whether the module of ``spec`` (importlib's) is still being imported."""
    state = _spec_dict(spec)
    return not _plain(state) or state.get("_initializing", False) is not False


def _ready(module, waiting=None) -> bool:
    """Whether a module in ``sys.modules`` has finished importing (one not made by an
    import, or whose spec is not importlib's, never has). The spec of one still being
    imported goes to ``waiting``."""
    namespace = _namespace(module)
    if namespace is None:
        return False
    spec = namespace.get("__spec__")
    if spec is None:
        return True
    if type(spec) is not _ModuleSpec:
        return False
    if _importing(spec):
        if waiting is not None:
            waiting.append(spec)
        return False
    return True


_NOT_READY = object()


def _lookup(dotted: str, importing: bool, waiting=None):
    """The object a dotted name refers to, :data:`_NOT_READY` while its module is being
    imported (its spec goes to ``waiting``), or None. Only ``cnnbook`` (the book's own
    package) is imported here; another package counts once the submission imported it.
    Attributes are read from namespaces (a lazy package's ``__getattr__`` would import:
    scipy.signal). The caller checks that ``sys.modules`` is :func:`_plain`."""
    parts = dotted.split(".")
    modules = sys.modules
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        module = modules.get(module_name)
        if module is None and importing and parts[0] == "cnnbook":
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
        if module is None:
            continue
        if not _ready(module, waiting):
            return _NOT_READY
        obj = module
        for attr in parts[cut:]:
            namespace = _namespace(obj)
            if namespace is None or attr not in namespace:
                return None
            obj = namespace[attr]
        return obj
    return None


def _functions_of(obj) -> list:
    """The Python functions a forbidden object stands for (read as :func:`_lookup` reads)."""
    namespace = _namespace(obj)
    if type(obj) is types.ModuleType:  # its functions, and those it exports from its
        own = namespace.get("__name__") if namespace is not None else None  # submodules
        if type(own) is not str:                          # (scipy.signal's: _signaltools)
            return []
        return [v for v in list(namespace.values()) if type(v) is types.FunctionType
                and type(v.__module__) is str
                and (v.__module__ == own or v.__module__.startswith(own + "."))]
    if namespace is not None:  # a class
        out = []
        for member in list(namespace.values()):
            if type(member) is staticmethod or type(member) is classmethod:
                member = member.__func__
            if type(member) is property:
                member = member.fget
            if type(member) is types.FunctionType:
                out.append(member)
        return out
    seen, out = set(), []
    while obj is not None and id(obj) not in seen:  # decorators keep __wrapped__
        seen.add(id(obj))
        if type(obj) is types.MethodType:
            obj = obj.__func__
        if type(obj) is not types.FunctionType:
            break
        out.append(obj)
        attrs = _function_dict(obj)
        obj = attrs.get("__wrapped__") if _plain(attrs) else None
    return out


class Forbidden:
    """The reference implementations a grader forbids, resolved in this process.

    ``names``: dotted names of functions, classes or modules
    (``"cnnbook.numpy.conv2d_forward"``, ``"cnnbook.numpy.conv"``,
    ``"torch.nn.functional.conv2d"``); ``ops``: torch operator names
    (``"aten::convolution"``), caught at the dispatcher, or :data:`ANY_OP` for every
    operator (a NumPy-only task: no list of names holds every kernel that convolves or
    multiplies matrices inside another operator, ``cdist`` or ``embedding_bag``).
    """

    def __init__(self, names=(), ops=()):
        self.names = tuple(dict.fromkeys(str(n) for n in names))
        self.ops = frozenset(str(o) for o in ops)
        self.codes: dict = {}        # fingerprint -> dotted name
        self.own: dict = {}          # id(code) -> (code, dotted name): the functions' own code
        self.shapes: set = set()     # _shape() of every forbidden code
        self.builtins: dict = {}     # id -> (object, dotted name)
        self._pending: set = set()   # names not found yet (their package not imported)
        self._modules = -1           # len(sys.modules) when they were last looked for
        self._looked = -1            # the same, also while an import was under way
        self._waiting: list = []     # the specs of the modules still being imported then
        self._seal: dict = {}        # what was resolved, kept apart: see intact()
        settled = [self._resolve(name, importing=True) for name in self.names] \
            if _plain(sys.modules) else [False]
        self._modules = len(sys.modules) if all(settled) else -1

    def __bool__(self) -> bool:
        return bool(self.names or self.ops)

    def with_ops(self, ops) -> Forbidden:
        """The same names, as they were resolved here, with the operators ``ops``: the
        guard for a check that forbids more operators, made from one resolved before the
        submission ran (a fresh lookup would find what it left in ``sys.modules``, and a
        sealed reference cannot be imported again)."""
        other = object.__new__(Forbidden)
        other.names = self.names
        other.ops = frozenset(str(o) for o in ops)
        other.codes, other.own = dict(self.codes), dict(self.own)
        other.shapes, other.builtins = set(self.shapes), dict(self.builtins)
        other._pending, other._modules = set(self._pending), self._modules
        other._looked, other._waiting = self._looked, list(self._waiting)
        other._seal = {k: v.copy() for k, v in self._seal.items()}
        return other

    def known(self, name) -> str:
        """``name`` when it is a hit this guard can record (a forbidden name or operator,
        or one of the fixed labels), else :data:`TAMPERING`: a hit reported by another
        process is shown to the student, and must not carry what that process chose."""
        return known_hit(name, self.names, self.ops)

    def __repr__(self) -> str:
        return f"Forbidden(names={list(self.names)!r}, ops={sorted(self.ops)!r})"

    def _resolve(self, name: str, importing: bool) -> bool:
        """Add ``name``'s targets; False while its module is still being imported."""
        obj = _lookup(name, importing, self._waiting)
        if obj is None or obj is _NOT_READY:
            self._pending.add(name)
            return obj is None
        self._pending.discard(name)
        functions = _functions_of(obj)
        for fn in functions:
            self.codes.setdefault(fingerprint(fn.__code__), name)
            self.own.setdefault(id(fn.__code__), (fn.__code__, name))
            self.shapes.add(_shape(fn.__code__))
        if not functions and callable(obj):
            self.builtins[id(obj)] = (obj, name)
        seal = self._seal
        seal["codes"] = dict(self.codes)
        seal["own"] = dict(self.own)
        seal["shapes"] = frozenset(self.shapes)
        seal["builtins"] = dict(self.builtins)
        seal.setdefault("resolved", set()).add(name)
        return True

    def intact(self) -> bool:
        """Whether everything resolved is still here, and nothing else: no fingerprint or
        built-in removed, renamed or added, no name dropped from the ones still to look
        for. Code in the same process that empties ``codes`` (to call a reference unseen)
        or adds an entry of its own (whose methods the profile function would run) is
        caught here."""
        try:
            seal = self._seal
            if type(seal) is not dict or any(type(d) is not dict for d in (
                    self.codes, self.own, self.builtins)) or type(self._pending) is not set:
                return False
            # compared in C, entry by entry: nothing removed, renamed or added
            if self.codes != seal.get("codes", {}) or self.own != seal.get("own", {}) \
                    or type(self.shapes) is not set or self.shapes != seal.get("shapes", set()) \
                    or self.builtins != seal.get("builtins", {}):
                return False
            return set(self.names) <= seal.get("resolved", set()) | self._pending
        except Exception:  # noqa: BLE001 - state replaced by something that misbehaves
            return False

    def refresh(self) -> bool:
        """Look again for the names not found yet, if a module was imported since, or one
        being imported has finished; whether anything was imported."""
        count = len(sys.modules)
        if count == self._modules:
            return False
        if count == self._looked and self._waiting and all(map(_importing, self._waiting)):
            return False  # the same imports still under way: nothing to look for yet
        self._modules = self._looked = count
        self._waiting = []
        if not _plain(sys.modules):
            self._modules = -1
            return True
        settled = [self._resolve(name, importing=False) for name in list(self._pending)]
        if not all(settled):
            self._modules = -1  # look again at the next event, once the import is done
        return True


# ---------------------------------------------------------------------------
# watching calls
# ---------------------------------------------------------------------------

class _Watch:
    def __init__(self, forbidden: Forbidden):
        self.forbidden = forbidden
        self.hits: list = []
        self.mode = None
        self.mode_failed = False
        self.mode_starting = False
        self.torch_spec = None
        self.popped = None

    def hit(self, name: str) -> None:
        if name not in self.hits:
            self.hits.append(name)

    def start_torch_mode(self, tally=None) -> None:
        """Push the dispatcher guard once torch is imported (it may be imported during
        the call itself); its hits go to ``tally`` too (the watch's own record)."""
        torch = sys.modules.get("torch")
        if (self.mode is not None or self.mode_failed or self.mode_starting
                or not self.forbidden.ops or torch is None):
            return
        # While torch is imported this runs at every event: its spec, once found, is
        # quicker to read than its namespace.
        if self.torch_spec is not None and _importing(self.torch_spec):
            return
        waiting: list = []
        if not _ready(torch, waiting):
            self.torch_spec = waiting[0] if waiting else None
            return
        # An outer watch's profiler sees this function's own calls (the mode's class and
        # constructor) and would start a second mode, pushed and never popped.
        self.mode_starting = True
        try:
            self._push_torch_mode(tally)
        finally:
            self.mode_starting = False

    def _push_torch_mode(self, tally) -> None:
        switches = _torch_stack()
        if switches is None:
            self.mode_failed = True
            return
        mode = _ReferenceOps(self, self.forbidden.ops, tally)
        switches[0](mode)
        self.mode = mode

    def stop_torch_mode(self) -> None:
        """Pop the mode with torch's C function: nothing of Python's runs, and what is
        popped is kept (freed later, where the profiler in place sees its finalizers)."""
        if self.mode is not None:
            self.mode = None
            try:
                self.popped = _torch_stack()[1](None)
            except Exception:  # noqa: BLE001 - the mode is gone already
                pass


class _ReferenceOps:
    """The dispatcher guard of one watch: a torch dispatch mode that records the
    operators it forbids. A plain class of the guard's own, pushed and popped with
    torch's C functions: no method of torch's Python (which a submission can replace)
    runs when a watch starts or ends, or inside the profile function."""

    def __init__(self, watch, ops, tally):
        self.watch, self.ops, self.every, self.tally = watch, ops, ANY_OP in ops, tally

    def __torch_dispatch__(self, func, types_, args=(), kwargs=None):
        name = getattr(getattr(func, "_schema", None), "name", "")
        if name not in self.ops and self.every:
            name = A_TORCH_OPERATOR
        if name in self.ops or self.every:
            self.watch.hit(name)
            if self.tally is not None and name not in self.tally:
                self.tally.append(name)
        return func(*args, **(kwargs or {}))


#: torch's C functions that push and pop a dispatch mode, once found built-in.
_TORCH_STACK: list = []


def _torch_c(names) -> list:
    """torch._C's built-in functions ``names``, each None where missing or not torch._C's
    own (a submission may have put a function of its own there): read through the
    module's namespace, as :func:`_lookup` reads (this runs inside the profile function)."""
    modules = sys.modules
    torch_c = modules.get("torch._C") if _plain(modules) else None
    namespace = _namespace(torch_c) if type(torch_c) is types.ModuleType else None
    found = [namespace.get(n) for n in names] if namespace is not None else [None] * len(names)
    return [f if type(f) is types.BuiltinFunctionType and f.__self__ is torch_c else None
            for f in found]


def _torch_stack():
    """``(push, pop)``: torch._C's own functions, or None (not imported, or not the
    built-ins)."""
    if not _TORCH_STACK:
        found = tuple(_torch_c(("_push_on_torch_dispatch_stack", "_pop_torch_dispatch_stack")))
        if None in found:
            return None
        _TORCH_STACK.append(found)
    return _TORCH_STACK[0]


_local = threading.local()
_LOCAL = _local
_setprofile, _getprofile = sys.setprofile, sys.getprofile  # as they were at import
_settrace, _gettrace = sys.settrace, sys.gettrace
#: torch's switches of its dispatch-mode stack: popping the guard's mode during a call
#: hides the operators from it (reached by identity, whichever Python helper calls them).
_MODE_SWITCHES = ("_pop_torch_dispatch_stack", "_unset_dispatch_mode", "_set_dispatch_mode")


def _stack() -> list:
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


#: Switching the guard off during a call, or changing its state (the forbidden
#: fingerprints, the hits, the watch stack, the profiler), counts as reaching a
#: forbidden reference.
TAMPERING = "the reference-call guard itself (switched off or changed during the call)"


#: id(code) -> (code, fingerprint), for every code of a reference's shape a watch in this
#: process has seen: a code object never changes, so its fingerprint is computed once,
#: not once per watch. Never emptied (what it frees could run the submission's code
#: inside the profile function); once full, fingerprints are no longer kept.
_FINGERPRINTS: dict = {}
_FINGERPRINTS_MAX = 50_000


def _switches(ops) -> list:
    """The functions that switch the guard off: the profiler's and tracer's setters, and
    with ``ops`` torch's switches of its dispatch-mode stack, once torch is imported."""
    found = [_setprofile, sys.setprofile, _settrace, sys.settrace]
    if ops:
        found += _torch_c(_MODE_SWITCHES)
    return [f for f in found if f is not None]


def _profiler(mine, stack, tally):
    """The profile function of the watch ``mine``, and a check that its own state is
    sound. What it reads is bound here, not looked up in the module or on the watch:
    replacing ``_local``, the module's functions or the watch's attributes does not
    blind it. Only calls are looked at; a return costs one lookup. It calls no other
    profiler: CPython watches nothing while a profile function runs, so a reference
    called from a profiler the submission installed would go unseen.

    For the same reason nothing of the submission's may run in here: no collection (its
    finalizers), no object freed, no method of an object it made. The common path, a
    call to code seen before or of another shape than every reference's, allocates
    nothing the collector tracks, so it cannot start one; the rest (a fingerprint, a
    module imported since, torch's mode) runs with the collector off; what the caches
    hold is never dropped; an entry is used only if it is what the guard stores. The
    sandbox's whole serve loop runs under this function: the common path is a few
    lookups."""
    modules, fp, shape = sys.modules, fingerprint, _shape
    collecting, stop, resume = gc.isenabled, gc.disable, gc.enable
    forbidden, hits = mine.forbidden, mine.hits
    own, shapes, codes, builtins = (forbidden.own, forbidden.shapes, forbidden.codes,
                                    forbidden.builtins)
    cache, limit = _FINGERPRINTS, _FINGERPRINTS_MAX
    calls = frozenset(("call", "c_call"))
    # id(code) -> code, for code that is no reference (held, so an id is never reused)
    clean: dict = {}
    retired: list = []  # what `clean` held before a reference was found: never freed here
    # id(built-in) -> (built-in, hit): the forbidden built-ins, and the switches
    # (TAMPERING, unless watch() itself calls them)
    special: dict = {}
    # len(sys.modules) when the state above was brought up to date (-1: again at the
    # next call), len(codes) when `clean` was, len(sys.modules) when the switches were
    seen = [-1, -1, -1]
    # what a slow path works on, set in place (a call's arguments would be a new tuple),
    # and let go before the profile function returns, while the caller still holds it
    # (the last reference, dropped here, would free it here)
    pending = [None, None, None]

    def collector_off(fn):
        """``fn()`` with the collector off. No arguments: a tuple of them would be
        allocated before the collector is off, and could start a collection here."""
        if not collecting():
            return fn()
        stop()
        try:
            return fn()
        finally:
            resume()

    def update():
        """Bring the state up to date with what was imported since the last call."""
        forbidden.refresh()
        mine.start_torch_mode(tally)
        if seen[1] != len(codes) and clean:  # a reference found since: look again
            retired.append(dict(clean))
            clean.clear()
        seen[1] = len(codes)
        special.update((k, v) for k, v in list(builtins.items())  # only what _resolve stores
                       if type(k) is int and type(v) is tuple)
        if seen[2] != len(modules):  # torch's switches appear with an import
            seen[2] = len(modules)
            for f in _switches(forbidden.ops):
                special.setdefault(id(f), (f, TAMPERING))
        unsettled = forbidden._modules == -1 or (
            forbidden.ops and mine.mode is None and not mine.mode_failed and "torch" in modules)
        seen[0] = -1 if unsettled else len(modules)

    def fingerprinted():
        code = pending[0]
        entry = cache.get(id(code))
        if type(entry) is tuple and entry[0] is code:
            return entry[1]
        found = fp(code)
        if len(cache) < limit:  # full: computed again each time, never dropped
            cache[id(code)] = (code, found)
        return found

    def record(name):
        if type(name) is not str:
            name = TAMPERING
        if name not in hits:
            hits.append(name)
        if name not in tally:
            tally.append(name)

    def profile(frame, event, arg):
        if event not in calls or not stack:
            return
        if stack[-1] is not mine:  # a remote watch inside this one, or tampering
            pending[0], pending[1], pending[2] = frame, event, arg  # no tuple is built
            collector_off(other)
            pending[0] = pending[2] = None  # while the frame and `arg` still hold them
            return
        if seen[0] != len(modules):
            collector_off(update)
        if event == "call":
            code = frame.f_code
            key = id(code)
            entry = own.get(key)  # the reference's own code, first: `clean` can be reached
            if entry is not None and type(entry) is tuple and entry[0] is code:
                record(entry[1])
            elif clean.get(key) is code:
                return
            elif shape(code) in shapes:
                pending[0] = code
                name = codes.get(collector_off(fingerprinted))
                pending[0] = None  # while the frame still holds the code
                if name is not None:
                    record(name)
                elif len(clean) < limit:
                    clean[key] = code
            elif len(clean) < limit:
                clean[key] = code
            return
        entry = special.get(id(arg))
        if entry is not None and type(entry) is tuple and entry[0] is arg and (
                entry[1] is not TAMPERING or frame.f_code is not _WATCH_CODE):
            record(entry[1])

    def other():
        """The innermost watch is another's (a remote watch inside this one): act for
        it, the slow way; its hits are this watch's too."""
        frame, event, arg = pending
        w = stack[-1]
        if type(w) is not _Watch or type(w.forbidden) is not Forbidden:
            record(TAMPERING)
            return
        f = w.forbidden
        f.refresh()
        w.start_torch_mode(tally)
        name, code = None, frame.f_code
        if event == "call":
            entry = f.own.get(id(code))
            if type(entry) is tuple and entry[0] is code:
                name = entry[1]
            elif shape(code) in f.shapes:
                pending[0] = code
                name = f.codes.get(fingerprinted())
        else:
            entry = f.builtins.get(id(arg))
            switch = special.get(id(arg))
            if type(entry) is tuple and entry[0] is arg:
                name = entry[1]
            elif type(switch) is tuple and switch[0] is arg and switch[1] is TAMPERING \
                    and code is not _WATCH_CODE:
                name = TAMPERING
        if name is not None:
            record(name)
            w.hit(name if type(name) is str else TAMPERING)

    def sound() -> bool:
        """Whether the caches hold only what the profile function put there: int keys,
        code (under its own id) and tuples. Read in C, from copies: it runs at the end
        of every watch, profiled."""
        try:
            keys, values = list(clean), list(clean.values())
            return (set(map(type, keys)) <= {int} and set(map(type, values)) <= {types.CodeType}
                    and list(map(id, values)) == keys and set(map(type, special)) <= {int}
                    and set(map(type, special.values())) <= {tuple})
        except Exception:  # noqa: BLE001 - state replaced by something that misbehaves
            return False

    profile._reference_guard = True
    return profile, sound


def _tampered(w, forbidden, stack, profile) -> bool:
    """Whether the guard's state changed under the watched body."""
    try:
        return (_getprofile() is not profile or _gettrace() is not None
                or not stack or stack[-1] is not w
                or getattr(_local, "stack", None) is not stack
                or w.forbidden is not forbidden or not forbidden.intact()
                or type(w.hits) is not list)
    except Exception:  # noqa: BLE001 - state replaced by something that misbehaves
        return True


@contextlib.contextmanager
def watch(forbidden: Forbidden, remote: bool = False, collect_only_inside: bool = False):
    """Record in the yielded list (dotted names, first hit first) every forbidden
    reference the body reaches in this thread. Watches nest; the previous profiler is
    restored on exit. The guard's state is checked after the body: a hit removed, a
    fingerprint removed, the watch taken off its stack or the profiler replaced adds
    :data:`TAMPERING` to the hits. So does a profiler (not a watch's) or a tracer found
    running at the start: it is set aside for the call, since a reference called from
    its callback would go unseen, and put back after.

    ``remote=True``: the body only calls into a sandbox (the grader's side of a call),
    so no untrusted code runs in this process. The watch is armed (:func:`armed`) and
    collects what the sandbox reports (:func:`record`), but this process is not
    profiled: the profiler would only slow the grader's own code, several times over.

    The garbage collector never runs while the watch is set up or taken down, nor inside
    its profile function: a finalizer of the submission's would run there unseen. It
    runs in the body as it did before the watch; ``collect_only_inside=True`` (the
    sandbox, where no submission code may run unwatched) runs it in the body and leaves
    it off after."""
    if not isinstance(forbidden, Forbidden):
        raise TypeError(f"forbidden must be a Forbidden; got {type(forbidden).__name__}")
    if remote:
        with _remote_watch(forbidden) as hits:
            yield hits
        return
    # No signal handler and no collection (finalizers) while the profiler is being put in
    # place or taken away: the submission's code would run there unseen.
    collecting = gc.isenabled() or collect_only_inside
    gc.disable()
    mask = _block_signals()
    w = _Watch(forbidden)
    hits = w.hits
    stack = _stack()
    tally: list = []
    stack.append(w)
    previous, tracer = _getprofile(), _gettrace()
    if tracer is not None or not (previous is None
                                  or getattr(previous, "_reference_guard", False)):
        tally.append(TAMPERING)  # another profiler or a tracer: set aside for the call
    if tracer is not None:
        _settrace(None)
    w.start_torch_mode(tally)
    profile, sound = _profiler(w, stack, tally)
    _setprofile(profile)
    if not forbidden.intact():  # profiled: an entry of the submission's may run its __eq__
        tally.append(TAMPERING)
    _restore_signals(mask)  # before the collector: it allocates
    if collecting:
        gc.enable()
    try:
        yield hits
    finally:
        gc.disable()
        mask = _block_signals()
        tampered = _tampered(w, forbidden, stack, profile) or not sound()
        _setprofile(None)
        _STOP_TORCH_MODE(w)  # unwatched: the guard's own pop of its mode is no tampering
        for i in range(len(stack) - 1, -1, -1):  # by identity: `in` would compare (__eq__)
            if stack[i] is w:  # before an outer watch's profiler is back: it acts for stack[-1]
                del stack[i]
                break
        _setprofile(previous)
        if tracer is not None:
            _settrace(tracer)
        if tampered or any(name not in hits for name in tally):
            tampered = True
        if w.hits is not hits:
            w.hits = hits
        for name in tally:
            if name not in hits:
                hits.append(name)
        if tampered and TAMPERING not in hits:
            hits.append(TAMPERING)
        if stack:  # an inner watch's hits are the outer one's too
            for name in hits:
                stack[-1].hit(name)
        _restore_signals(mask)  # before the collector: it allocates
        if collecting and not collect_only_inside:
            gc.enable()


def _block_signals():
    """Block every signal in this thread; the mask before (None where signals cannot be
    masked). A handler pending already runs here, where the profiler in place sees it."""
    try:
        return _signal.pthread_sigmask(_signal.SIG_BLOCK, _SIGNALS)  # C: no enums made
    except (OSError, ValueError, AttributeError):
        return None


def _restore_signals(mask) -> None:
    if mask is not None:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, mask)


_SIGNALS = signal.valid_signals() if hasattr(signal, "valid_signals") else set()
_SIGNAL_NUMBERS = tuple(sorted(int(s) for s in _SIGNALS))
_getsignal = _signal.getsignal


def _handlers() -> dict:
    found = {}
    for sig in _SIGNAL_NUMBERS:
        try:
            found[sig] = _getsignal(sig)
        except (OSError, ValueError):
            pass
    return found


#: The handlers before any submission ran (Python's own SIGINT handler is a built-in).
_FIRST_HANDLERS = _handlers()


_WATCH_CODE = watch.__wrapped__.__code__
#: What runs while a watch is taken down, with no profiler in place, bound at import.
_STOP_TORCH_MODE = _Watch.stop_torch_mode


@contextlib.contextmanager
def _remote_watch(forbidden: Forbidden):
    w = _Watch(forbidden)
    hits = w.hits
    stack = _stack()
    stack.append(w)
    try:
        yield hits
    finally:
        if w in stack:
            stack.remove(w)
        if w.hits is not hits:  # what was recorded stays recorded
            hits.extend(name for name in w.hits if name not in hits)
        if stack:
            for name in hits:
                stack[-1].hit(name)


def armed():
    """The :class:`Forbidden` of the innermost active watch in this thread, or None (the
    grader's proxies arm the sandbox with it when a check calls across)."""
    stack = getattr(_LOCAL, "stack", None)
    return stack[-1].forbidden if stack else None


def current_profile():
    """The profile function installed now (that of the innermost watch)."""
    return _getprofile()


def reinstate(profile) -> bool:
    """Put ``profile`` back if something replaced or removed it; True when it had to (a
    long-lived watch's check that it still watches, with the functions as they were at
    import)."""
    if _getprofile() is profile:
        return False
    _setprofile(profile)
    return True


def python_signal_handlers() -> bool:
    """Whether a signal has a handler of the submission's: anything but SIG_DFL, SIG_IGN
    or the handler it had when this module was imported. CPython runs a handler between
    any two bytecodes, the guard's profile function's included, where nothing is
    profiled; a built-in can run Python too (a bound ``dict.get`` compares keys)."""
    # The C function over ints, and checks that are no calls: it runs on every reply,
    # profiled.
    for sig in _SIGNAL_NUMBERS:
        try:
            handler = _getsignal(sig)
        except (OSError, ValueError):
            continue
        if handler is not None and type(handler) is not int \
                and handler is not _FIRST_HANDLERS.get(sig):
            return True
    return False


def known_hit(name, names, ops) -> str:
    """``name`` when a guard for ``names`` and ``ops`` can record it, else
    :data:`TAMPERING` (see :meth:`Forbidden.known`)."""
    return name if name in names or name in ops or name in (
        TAMPERING, A_TORCH_OPERATOR, A_SIGNAL_HANDLER) else TAMPERING


def record(names) -> None:
    """Add hits seen elsewhere (the sandbox reports its own) to the innermost watch."""
    stack = getattr(_LOCAL, "stack", None)
    if stack:
        for name in names:
            stack[-1].hit(str(name)[:200])
