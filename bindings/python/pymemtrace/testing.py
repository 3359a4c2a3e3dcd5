"""Blocks of memory of a known size from a known allocator, for tests (upstream's cMemLeak).

``CMalloc(size)`` takes ``size`` bytes from libc's ``malloc`` (allocator ``NATIVE``: traced with
``run --native``), ``PyRawMalloc(size)`` from ``PyMem_RawMalloc`` (``RAW``) and ``PyMalloc(size)``
from ``PyMem_Malloc`` (``MEM``). Each returns a block with ``.size``, ``.address``,
``.allocator`` and a writable ``.buffer`` (a memoryview, valid while the block lives); the block
is freed when it is dropped, or at once with ``.free()``. Keeping blocks alive on purpose is how a
test makes a leak whose size and site it knows::

    from pymemtrace import testing
    leaked = [testing.PyMalloc(600) for _ in range(4)]
"""
from ._pymemtrace import Block, CMalloc, PyMalloc, PyRawMalloc

__all__ = ["Block", "CMalloc", "PyRawMalloc", "PyMalloc"]
