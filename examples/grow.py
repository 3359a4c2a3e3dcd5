"""An example program that grows in a few distinct places, for `python -m pymemtrace run`."""


def load_table(rows):
    """Builds a list of dicts: many small objects."""
    return [{"id": i, "name": f"row-{i}", "score": i * 0.5} for i in range(rows)]


def make_buffer(mib):
    """One large buffer, touched at once."""
    return bytearray(b"\x01") * (mib << 20)


def index_by_name(table):
    return {row["name"]: row for row in table}


def main():
    table = load_table(200_000)
    buffer = make_buffer(32)
    index = index_by_name(table)
    print(f"{len(table)} rows, {len(buffer) >> 20} MiB buffer, {len(index)} index entries")


if __name__ == "__main__":
    main()
