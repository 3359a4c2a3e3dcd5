"""The known workload the toolkit's bpftrace scripts are tested on (test_probes.py): run as
`python probe_workload.py PROBE,PROBE,...`, it waits until a consumer is attached to each probe
named, then, under a tracer that writes no log (probes only), allocates 8 blocks of 1000 bytes
with PyMem_RawMalloc in make_raw (4 kept, 4 freed from main), makes cycles and collects 3
times (on CPython 3.13+ counting the objects of classes: 500 Cycle made and freed), grows RSS by
8 MiB in grow, writes a mark, and prints what the tracer counted as JSON."""
import gc
import json
import sys
import time

import pymemtrace
from pymemtrace import testing


class Cycle:
    def __init__(self):
        self.me = self


# Loops, not comprehensions: a comprehension is a function of its own before 3.12.
def make_raw():
    blocks = []
    for _ in range(4):
        blocks.append(testing.PyRawMalloc(1000))
    return blocks


def make_cycles(n):
    for _ in range(n):
        Cycle()


def grow():
    chunks = []
    for _ in range(8):
        chunks.append(b"\1" * (1 << 20))  # written: each page is touched
    return chunks


def main():
    print("ready", flush=True)  # the library is loaded: bpftrace finds its probes now
    deadline = time.monotonic() + 60
    while not all(pymemtrace.probe_listeners(name) for name in sys.argv[1].split(",")):
        if time.monotonic() > deadline:
            sys.exit("probe_workload: no consumer attached within 60 s")
        time.sleep(0.01)
    gc.disable()  # only the 3 collections below
    try:
        # CPython 3.13+ counts objects too (the object probes): 500 Cycle made and collected.
        with pymemtrace.Profile(log_format="none", allocations={"RAW"}, gc=True,
                                objects=sys.version_info >= (3, 13)) as tracer:
            kept = make_raw()
            freed = make_raw()
            del freed
            make_cycles(500)
            for _ in range(3):
                gc.collect()
            big = grow()
            pymemtrace.mark("workload done")
    finally:
        gc.enable()
    print(json.dumps({"events_seen": tracer.events_seen, "kept": len(kept), "big": len(big)}))


if __name__ == "__main__":
    main()
