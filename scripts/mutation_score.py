"""Read `mutmut results --all true` and print the mutation score; exit 1 below the bar."""

from __future__ import annotations

import collections
import sys

BAR = 0.97


def main(path: str) -> int:
    statuses: collections.Counter[str] = collections.Counter()
    survivors = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            name, _, status = line.strip().rpartition(": ")
            if not name:
                continue
            statuses[status] += 1
            if status != "killed":
                survivors.append(f"  {name}: {status}")
    total = sum(statuses.values())
    killed = statuses["killed"]
    score = killed / total if total else 0.0
    print("\n".join(survivors))
    print(f"mutants: {total}; " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    print(f"mutation score: {killed}/{total} killed = {score:.1%} (bar {BAR:.0%})")
    return 0 if score >= BAR else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
