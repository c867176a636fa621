"""Task-adaptive pre-training: continued masked-LM training of the base encoder on the recipe's
own training text, before fine-tuning.

all-MiniLM-L6-v2 was trained as a general sentence embedder and never modelled earnings and
analyst prose as text. A few epochs of masked-LM on the sentences the recipe already trains on
(SENTiVENT train split, the sentiment sources' train splits; never dev or test labels, never new
data) move the starting weights into the domain at no inference cost.

The checkpoint has no MLM head, so a fresh one (tied to the word embeddings) is trained alone
first; otherwise its random gradients would hit the encoder in the first steps. Logits are
computed only at masked positions: the 30k-word decoder over every token would cost half again.
The result is an ordinary encoder folder (config, weights, tokenizer) that `build_model` loads
like the base.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from marketpulse.core.errors import ModelError
from marketpulse.inference.batching import pad
from marketpulse.inference.tokenize import WindowTokenizer
from marketpulse.training import data as D
from marketpulse.training.model import base_model_dir
from marketpulse.training.recipe import Recipe
from marketpulse.training.train import pick_device, warmup_then_linear_decay

log = logging.getLogger(__name__)

BATCH = 32
_COPIED = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def _identity(recipe: Recipe) -> dict:
    """What decides the adapted weights: the adaptation settings, the base, and the training text."""
    assert recipe.adapt is not None
    return {"adapt": asdict(recipe.adapt), "base_model": recipe.base_model, "seed": recipe.seed,
            "sentiment": asdict(recipe.sentiment), "events": asdict(recipe.events), "max_steps": recipe.max_steps}


def adapt_encoder(recipe: Recipe, datasets: Path, out: Path) -> Path:
    """Write the adapted encoder to `out` (or reuse it when `out` holds one of this recipe)."""
    log_file = out / "adapt_log.json"
    if log_file.is_file() and json.loads(log_file.read_text())["identity"] == _identity(recipe):
        log.info("adapted encoder: reusing %s", out)
        return out
    summary = _MaskedLM(recipe, datasets).run(out)
    log_file.write_text(json.dumps({"identity": _identity(recipe), **summary}, indent=1))
    return out


class _MaskedLM:
    def __init__(self, recipe: Recipe, datasets: Path) -> None:
        import torch
        from transformers import BertForMaskedLM

        assert recipe.adapt is not None
        self.recipe, self.cfg = recipe, recipe.adapt
        if recipe.schedule.threads:
            torch.set_num_threads(recipe.schedule.threads)
        self.device = pick_device()
        torch.manual_seed(self.cfg.seed)  # before loading: the fresh head's initial weights
        self.rng = random.Random(self.cfg.seed)  # batch order
        self.gen = torch.Generator().manual_seed(self.cfg.seed + 1)  # which tokens are masked
        self.base = base_model_dir(recipe.base_model)
        tok_path = self.base / "tokenizer.json"
        lengths = (recipe.events.max_len, recipe.sentiment.max_len)
        self.tok = {n: WindowTokenizer.from_file(tok_path, n) for n in lengths}
        events = D.load_events(datasets, recipe.events, recipe.seed)
        sentiment = D.load_sentiment(datasets, recipe.sentiment, recipe.seed)
        self.event_texts = [e.text for e in events.train]
        self.sentiment_texts = [e.text for exs in sentiment.train.values() for e in exs]
        self.probe_texts = [e.text for e in events.dev]  # unlabelled use only: masked-LM loss as progress
        log.info("masked-LM adaptation on %d event + %d sentiment sentences",
                 len(self.event_texts), len(self.sentiment_texts))
        self.mlm = BertForMaskedLM.from_pretrained(str(self.base)).to(self.device)
        tok = self.tok[recipe.events.max_len]
        self.mask_id = tok.special_id("[MASK]")
        self.special = torch.tensor(sorted({tok.special_id(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}))
        self.vocab = self.mlm.config.vocab_size

    def _masked(self, texts: list[str], max_len: int, gen: Any) -> tuple[Any, Any, Any]:
        """BERT masking: of the non-special tokens, mask_prob are targets; 80% of those become
        [MASK], 10% a random token, 10% stay."""
        import torch

        ids_np, mask_np = pad(self.tok[max_len].encode_truncated(texts))
        ids, mask = torch.from_numpy(ids_np), torch.from_numpy(mask_np)
        labels = torch.full_like(ids, -100)
        candidates = mask.bool() & ~torch.isin(ids, self.special)
        targets = (torch.rand(ids.shape, generator=gen) < self.cfg.mask_prob) & candidates
        labels[targets] = ids[targets]
        r = torch.rand(ids.shape, generator=gen)
        ids[targets & (r < 0.8)] = self.mask_id
        swap = targets & (r >= 0.8) & (r < 0.9)
        ids[swap] = torch.randint(self.vocab, (int(swap.sum()),), generator=gen)
        # Masks are drawn on the CPU, so the same seed masks the same tokens on any device.
        return ids.to(self.device), mask.to(self.device), labels.to(self.device)

    def _loss(self, ids: Any, mask: Any, labels: Any) -> Any:
        import torch

        hidden = self.mlm.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        at = labels != -100
        return torch.nn.functional.cross_entropy(self.mlm.cls(hidden[at]), labels[at])

    def _probe_loss(self) -> float:
        """Masked-LM loss on the event dev sentences with a fixed masking (labels unused)."""
        import torch

        gen = torch.Generator().manual_seed(123)
        self.mlm.eval()
        with torch.inference_mode():
            losses = [float(self._loss(*self._masked(self.probe_texts[i : i + 64], self.recipe.events.max_len, gen)))
                      for i in range(0, len(self.probe_texts), 64)]
        self.mlm.train()
        return sum(losses) / max(1, len(losses))

    def _batches(self) -> Iterator[tuple[list[str], int]]:
        """Endless: each epoch, a fresh shuffle of both sets; an event batch, then a sentiment batch."""
        ev_len, sent_len = self.recipe.events.max_len, self.recipe.sentiment.max_len
        while True:
            events, sentiment = self.event_texts[:], self.sentiment_texts[:]
            self.rng.shuffle(events)
            self.rng.shuffle(sentiment)
            size = min(BATCH, len(events))
            sent_batches = [sentiment[i : i + BATCH] for i in range(0, len(sentiment), BATCH)]
            for b, i in enumerate(range(0, len(events) - size + 1, size)):
                yield events[i : i + size], ev_len
                yield sent_batches[b % len(sent_batches)], sent_len

    def _stage(self, name: str, steps: int, params: list[Any], lr: float, batches: Iterator) -> None:
        import torch
        from tqdm import tqdm

        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_then_linear_decay(steps, 0.06))
        bar = tqdm(range(steps), desc=f"masked-LM {name}", mininterval=5, dynamic_ncols=True)
        running = 0.0
        for k in bar:
            texts, max_len = next(batches)
            loss = self._loss(*self._masked(texts, max_len, self.gen))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            running = 0.98 * running + 0.02 * loss.item() if k else loss.item()
            bar.set_postfix(loss=f"{running:.3f}", refresh=False)

    def run(self, out: Path) -> dict:
        from transformers import BertModel

        cfg, cap = self.cfg, self.recipe.max_steps or None
        t0 = time.monotonic()
        batches = self._batches()
        probe = {"before": self._probe_loss()}
        for p in self.mlm.parameters():
            p.requires_grad = False
        # The fresh transform and the output bias; the decoder matrix is the frozen word embedding.
        head = [p for n, p in self.mlm.cls.named_parameters() if "decoder.weight" not in n]
        for p in head:
            p.requires_grad = True
        self._stage("head", min(cfg.head_steps, cap or cfg.head_steps), head, cfg.head_lr, batches)
        probe["after_head"] = self._probe_loss()
        for p in self.mlm.parameters():
            p.requires_grad = True
        steps = int(cfg.epochs * 2 * (len(self.event_texts) // min(BATCH, len(self.event_texts))))
        self._stage("all weights", min(steps, cap or steps), list(self.mlm.parameters()), cfg.lr, batches)
        probe["after"] = self._probe_loss()
        log.info("masked-LM loss on event dev text: %s", json.dumps({k: round(v, 3) for k, v in probe.items()}))
        # Save as a plain encoder; the pooler (unused by our heads, absent from the MLM model) stays the base's.
        encoder = BertModel.from_pretrained(str(self.base))
        missing, unexpected = encoder.load_state_dict(self.mlm.bert.state_dict(), strict=False)
        if unexpected or any(not m.startswith("pooler.") for m in missing):
            raise ModelError(f"adapted encoder does not fit the base: {missing} {unexpected}")
        out.mkdir(parents=True, exist_ok=True)
        encoder.save_pretrained(str(out))
        for name in _COPIED:
            if (self.base / name).is_file():
                shutil.copyfile(self.base / name, out / name)
        return {"main_steps": steps, "probe_loss": probe, "device": self.device,
                "seconds": round(time.monotonic() - t0, 1)}
