"""A sparse, realistic workload (deterministic) for bench/instructions.py: the kind of program
people trace, where most time goes to work inside functions rather than to calls. JSON round
trips, dataclasses, regular expressions and numeric loops; about 3 M hook events per second
untraced on the bench machine, against ~10 M for the dense workload.py."""
import dataclasses
import json
import re


@dataclasses.dataclass
class Order:
    order_id: int
    customer: str
    items: list
    total: float = 0.0

    def priced(self):
        self.total = round(sum(qty * price for _, qty, price in self.items), 2)
        return self


def make_orders(n, seed=7):
    orders = []
    for i in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        items = [(f"sku-{(seed >> k) % 97}", 1 + (seed >> (k + 3)) % 5, ((seed >> k) % 1000) / 10)
                 for k in range(0, 12, 3)]
        orders.append(Order(i, f"customer-{seed % 211}", items).priced())
    return orders


def json_round_trip(orders):
    text = json.dumps([dataclasses.asdict(o) for o in orders])
    return [Order(**row) for row in json.loads(text)]


WORD = re.compile(r"[A-Za-z]+(?:-[0-9]+)?")


def word_counts(orders):
    counts = {}
    for order in orders:
        for word in WORD.findall(order.customer + " " + " ".join(i[0] for i in order.items)):
            counts[word] = counts.get(word, 0) + 1
    return counts


def mandelbrot(width, height, limit=40):
    inside = 0
    for y in range(height):
        ci = 2.0 * y / height - 1.0
        for x in range(width):
            cr = 3.0 * x / width - 2.0
            zr = zi = 0.0
            for _ in range(limit):
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                if zr * zr + zi * zi > 4.0:
                    break
            else:
                inside += 1
    return inside


def run(scale=1.0):
    n = max(1, int(600 * scale))
    orders = make_orders(n)
    again = json_round_trip(orders)
    counts = word_counts(again)
    side = max(8, int(60 * scale ** 0.5))
    return len(again), len(counts), mandelbrot(side, side)
