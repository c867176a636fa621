"""Derive data/common_words.txt: words that financial headlines write in lower case.

A company short form that newsrooms also use as an ordinary word ("target", "post", "credit") cannot
stand alone as an alias. Which words those are is learnt from sentence-case headlines of two MIT
datasets (Twitter financial news, SEntFiN): a word counts as common when it appears in lower case,
away from the start of the headline, at least `min_lower` times and in at least `min_share` of its
occurrences ("apple" is nearly always "Apple"; "target" mostly "price target").

    python -m marketpulse.entities.wordlist   # rewrites data/common_words.txt
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from marketpulse.core.paths import shared_datasets_dir

SOURCES = (
    ("twitter_financial_news_sentiment/clean/train.jsonl", "text"),
    ("twitter_financial_news_sentiment/clean/valid.jsonl", "text"),
    ("sentfin/clean/headlines.jsonl", "title"),
)
OUT = Path(__file__).parent / "data" / "common_words.txt"
_NOISE = re.compile(r"https?://\S+|\$[A-Za-z.]+|@\w+")
_WORD = re.compile(r"[A-Za-z][a-z]{2,}")


def derive(datasets: Path, min_lower: int = 3, min_share: float = 0.4) -> list[str]:
    lower: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for rel, field in SOURCES:
        with (datasets / rel).open(encoding="utf-8") as fh:
            for line in fh:
                text = _NOISE.sub(" ", json.loads(line).get(field) or "")
                for i, match in enumerate(_WORD.finditer(text)):
                    word = match.group(0)
                    if i == 0:
                        continue  # the first word is capitalised whatever it is
                    total[word.lower()] += 1
                    if word.islower():
                        lower[word] += 1
    return sorted(w for w, n in lower.items() if n >= min_lower and n >= min_share * total[w])


def main() -> None:
    words = derive(shared_datasets_dir())
    OUT.write_text("# derived by marketpulse.entities.wordlist from MIT-licensed headlines; see SOURCE.md\n"
                   + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {OUT}")


if __name__ == "__main__":
    main()
