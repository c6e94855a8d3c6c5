"""The revision of a pair's side: a fingerprint of the code it runs, so evidence is tied to the code it judged.

A side's revision is a SHA-256 over its function's bytecode, constants and
names, and over every function, class and module-level helper it reaches by
name within its own package (e.g. apps.metrics.services.dashboard), followed
transitively. Line numbers, file paths and docstrings are left out, so
moving code or rewording a docstring keeps the revision; changing what the
code does, or a helper it calls in the same package, changes it. Code
outside the package (Django, the models, shared formatting) is not
included: a change there is a change for both sides alike. A new Python
version compiles other bytecode, so an interpreter upgrade starts a new
revision too (the safe direction).

A pair can declare `revision="…"` instead (a release tag, say): then both
sides carry that string.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import hashlib
import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any

# Enough to tell revisions apart in a table; the whole digest adds nothing an operator can use.
LENGTH = 12
# Module-level values a side reads by name (field lists, limits, patterns): part of what the code does.
PLAIN_VALUES = (str, bytes, int, float, bool, decimal.Decimal, dt.timedelta, tuple, list, dict, set, frozenset)


def fingerprint(function: Callable[..., Any]) -> str:
    """The side's revision: 12 hex digits of the SHA-256 over the code it reaches within its package.

    A bound method or partial counts as its function; a callable object as its class (its methods).
    """
    function = _code_owner(function)
    package = _package_of(function)
    digest = hashlib.sha256()
    for item in _reached(function, package):
        digest.update(_describe(item).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:LENGTH]


def _code_owner(function: Any) -> Any:
    function = inspect.unwrap(function)
    while True:
        if isinstance(function, functools.partial):
            function = function.func
        elif isinstance(function, types.MethodType):
            function = function.__func__
        else:
            break
    if isinstance(function, (types.FunctionType, type)):
        return function
    return type(function)


def _package_of(function: Any) -> str:
    module = getattr(function, "__module__", "") or ""
    # A side lives in <package>/legacy.py or <package>/optimized.py: helpers count within <package>.
    return module.rsplit(".", 1)[0] if "." in module else module


def _in_package(item: Any, package: str) -> bool:
    module = str(getattr(item, "__module__", None) or getattr(item, "__name__", ""))
    return bool(package) and (module == package or module.startswith(package + "."))


def _reached(function: Any, package: str) -> Iterator[Any]:
    # Identity is enough here: the same function object is the same code.
    """The function, then every function or class it names within the package, depth first, each once."""
    seen: set[int] = set()
    pending = [function]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        pending.extend(sorted(_named_by(item, package), key=_qualified_name, reverse=True))


def _named_by(item: Any, package: str) -> list[Any]:
    if isinstance(item, type):
        return [
            member for member in vars(item).values()
            if isinstance(member, types.FunctionType) and _in_package(member, package)
        ]
    code = getattr(item, "__code__", None)
    if code is None:
        return []
    namespace = getattr(item, "__globals__", {})
    found: list[Any] = []
    for name in _names(code):
        target = namespace.get(name)
        if isinstance(target, types.ModuleType) and _in_package(target, package):
            # module.helper(...): the module's own functions and classes named in the code.
            found.extend(
                member for member_name in _names(code)
                if (member := getattr(target, member_name, None)) is not None
                and isinstance(member, (types.FunctionType, type)) and _in_package(member, package)
            )
        elif isinstance(target, (types.FunctionType, type)) and _in_package(target, package):
            found.append(target)
    # Nested functions and lambdas are part of the code itself; closures' cells may hold helpers too.
    for cell in getattr(item, "__closure__", None) or ():
        content = _cell_contents(cell)
        if isinstance(content, (types.FunctionType, type)) and _in_package(content, package):
            found.append(content)
    return found


def _cell_contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names(constant)
    return names


def _describe(item: Any) -> str:
    if isinstance(item, type):
        return f"class {_qualified_name(item)}({', '.join(base.__qualname__ for base in item.__bases__)})"
    code = item.__code__
    namespace = getattr(item, "__globals__", {})
    values = sorted(
        f"{name}={namespace[name]!r}" for name in _names(code)
        if isinstance(namespace.get(name), PLAIN_VALUES) and not name.startswith("__")
    )
    return (
        f"def {_qualified_name(item)} {_code_text(code, item.__doc__)} defaults={item.__defaults__!r} "
        f"kwdefaults={item.__kwdefaults__!r} values={values}"
    )


def _code_text(code: types.CodeType, docstring: str | None) -> str:
    constants = []
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            constants.append(_code_text(constant, None))
        elif docstring is not None and constant == docstring:
            constants.append("<doc>")
        else:
            constants.append(repr(constant))
    return (
        f"{code.co_code.hex()}|{code.co_names}|{code.co_varnames}|{code.co_freevars}|{code.co_cellvars}"
        f"|{code.co_argcount}|{code.co_kwonlyargcount}|[{', '.join(constants)}]"
    )


def _qualified_name(item: Any) -> str:
    return f"{getattr(item, '__module__', '')}.{getattr(item, '__qualname__', repr(item))}"

