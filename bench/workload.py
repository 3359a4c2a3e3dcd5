"""A call- and allocation-heavy pure-Python workload (deterministic), for bench.py."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Node:
    __slots__ = ("key", "left", "right")

    def __init__(self, key):
        self.key, self.left, self.right = key, None, None


def insert(node, key):
    if node is None:
        return Node(key)
    if key < node.key:
        node.left = insert(node.left, key)
    else:
        node.right = insert(node.right, key)
    return node


def walk(node, out):
    if node is not None:
        walk(node.left, out)
        out.append(node.key)
        walk(node.right, out)


def lcg(n, seed=12345):
    for _ in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        yield seed


def records(n):
    rows = []
    for i in range(n):
        name = "item-%05d" % i
        rows.append(dict({"id": i, "name": name.upper(), "tags": "-".join((name, str(i)))}))
    return rows


def grow(n):
    return [[i] * 16 for i in range(n)]


def churn(rounds=200, pages=64):
    """RSS up and down by known amounts: anonymous maps written through, some kept a while, then
    unmapped (a heap would keep freed pages; munmap gives them back). For bench.py --check."""
    import mmap
    size = pages * mmap.PAGESIZE
    kept = []
    for i in range(rounds):
        kept.append(_mapped(size))
        if len(kept) > 8:
            _unmap(kept.pop(0))
    for m in kept:
        _unmap(m)


def _mapped(size):
    import mmap
    m = mmap.mmap(-1, size)
    m.write(b"x" * size)
    return m


def _unmap(m):
    m.close()


def run(scale=1.0):
    """One iteration; returns a checksum so nothing is optimised away."""
    total = fib(int(16 + 2 * scale))
    root = None
    for key in lcg(int(3000 * scale)):
        root = insert(root, key)
    keys = []
    walk(root, keys)
    total += len(keys) + len(records(int(6000 * scale))) + len(grow(int(20000 * scale)))
    return total
