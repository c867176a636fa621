"""`marketpulse train`: fine-tune the multi-task model from a recipe, early-stopping on dev macro-F1.

Writes <out>/checkpoint.pt (best epoch's weights), <out>/thresholds.json (per-type event
thresholds tuned on dev) and <out>/train_log.json (every epoch's dev figures). Export turns the
checkpoint into the shipped ONNX files.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from marketpulse.core.errors import ModelError
from marketpulse.core.messages import EVENT_TYPES
from marketpulse.inference.batching import length_batches
from marketpulse.inference.tokenize import WindowTokenizer
from marketpulse.training import data as D
from marketpulse.training import distill as KD
from marketpulse.training import evaluate as E
from marketpulse.training import losses as L
from marketpulse.training.model import (
    base_model_dir,
    build_model,
    build_subtype_head,
    head_parameter_names,
    load_trained,
)
from marketpulse.training.recipe import REFERENCE_SOURCE, Recipe, parse_recipe
from marketpulse.training.sampling import CyclingPool, cut_batches, interleave, quotas

log = logging.getLogger(__name__)


@dataclass
class TaskData:
    """Tokenised training examples of one task."""

    ids: list[list[int]]
    targets: np.ndarray


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def torch_scorer(model: Any, tok: WindowTokenizer, device: str, batch: int = 64) -> E.Scorer:
    """Dev-set scoring with the same truncation as training."""
    import torch

    def score(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        seqs = tok.encode_truncated(texts)
        sent = np.zeros((len(seqs), 3), dtype=np.float32)
        events = np.zeros((len(seqs), len(EVENT_TYPES)), dtype=np.float32)
        model.eval()
        with torch.inference_mode():
            for b in length_batches(seqs, batch, batch * 128):
                s, e = model(torch.from_numpy(b.input_ids).to(device), torch.from_numpy(b.attention_mask).to(device))
                sent[b.rows] = torch.softmax(s.float(), -1).cpu().numpy()
                events[b.rows] = torch.sigmoid(e.float()).cpu().numpy()
        return sent, events

    return score


def _optimizer(model: Any, recipe: Recipe, total_steps: int, aux: Any = None) -> tuple[Any, Any]:
    import torch

    sched = recipe.schedule
    heads = head_parameter_names(model)
    named = list(model.named_parameters())
    if aux is not None:  # the auxiliary head trains at the head learning rate
        named += [(f"aux.{n}", p) for n, p in aux.named_parameters()]
        heads |= {f"aux.{n}" for n, _ in aux.named_parameters()}
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in named:
        # No weight decay on biases and LayerNorm weights (standard BERT fine-tuning).
        decay = p.ndim > 1
        groups.setdefault((name in heads, decay), []).append(p)
    param_groups = [
        {
            "params": ps,
            "lr": sched.head_lr if is_head else sched.encoder_lr,
            "weight_decay": sched.weight_decay if decay else 0.0,
        }
        for (is_head, decay), ps in groups.items()
    ]
    opt = torch.optim.AdamW(param_groups)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, warmup_then_linear_decay(total_steps, sched.warmup_fraction))


def warmup_then_linear_decay(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """Learning-rate factor per step: linear warmup over the first fraction, then linear decay to 0."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def _type_loss(recipe: Recipe, pos_weight: Any) -> Callable[[Any, Any], Any]:
    ev = recipe.events
    if ev.loss == "bce":
        return partial(L.weighted_bce, pos_weight=pos_weight)
    if ev.loss == "asymmetric":
        return partial(L.asymmetric_bce, pos_weight=pos_weight, gamma_neg=ev.asl_gamma_neg, clip=ev.asl_clip)
    raise ModelError(f"events.loss must be 'bce' or 'asymmetric', not {ev.loss!r}")


def _event_pos_weight(targets: np.ndarray, cap: float) -> np.ndarray:
    # sqrt of the negative/positive ratio: helps rare types without drowning precision.
    pos = targets.sum(0).clip(min=1)
    return np.sqrt((len(targets) - pos) / pos).clip(1.0, cap).astype(np.float32)


class Trainer:
    def __init__(self, recipe: Recipe, datasets: Path, out: Path, order_seed: int | None = None,
                 distill: TaskData | None = None, fold: int | None = None) -> None:
        """order_seed (default: the recipe seed) draws data order and dropout; the recipe seed
        alone draws the splits and the initial weights, so soup runs share both. distill: token ids
        of unlabelled texts and their soft targets (distill.ensemble_targets). fold: a cross-fitted
        run's own SENTiVENT dev fold (schedule.cross_fit); it trains on the other folds too."""
        self.recipe, self.datasets, self.out, self.distill, self.fold = recipe, datasets, out, distill, fold
        self.order_seed = recipe.seed if order_seed is None else order_seed
        self.device = pick_device()
        self.rng = random.Random(self.order_seed)
        self._pools: dict[str, CyclingPool] = {}  # one draw-without-replacement pool per data set
        tok_path = base_model_dir(recipe.base_model) / "tokenizer.json"
        self.sent_tok = WindowTokenizer.from_file(tok_path, recipe.sentiment.max_len)
        self.event_tok = WindowTokenizer.from_file(tok_path, recipe.events.max_len)

    def load(self) -> None:
        r = self.recipe
        self.sent = D.load_sentiment(self.datasets, r.sentiment, r.seed)
        self.events = D.load_events(self.datasets, r.events, r.seed)
        if self.fold is not None:
            own = dev_folds(r, self.events.dev)[self.fold]
            ev = self.events
            self.events = D.EventSplits(ev.train + [e for e in ev.dev if e.document_id not in own],
                                        [e for e in ev.dev if e.document_id in own], ev.test)
        self.sent_train = {
            name: TaskData(self.sent_tok.encode_truncated([e.text for e in exs]), np.array([e.label for e in exs]))
            for name, exs in self.sent.train.items()
        }
        ev = self.events.train
        targets = np.array([e.labels for e in ev], dtype=np.float32)
        self.subtypes: list[str] = []
        if r.events.subtype_loss_weight > 0:
            if r.events.head != "label_attention":
                raise ModelError("events.subtype_loss_weight needs events.head = label_attention")
            # Subtypes seen in training whose parent is a known type; their 0/1 columns follow the
            # 18 type columns in the event targets, so one batch carries both.
            self.subtypes = sorted({s for e in ev for s in e.subtypes if s.split(".")[0] in EVENT_TYPES})
            sub = np.array([[s in e.subtypes for s in self.subtypes] for e in ev], dtype=np.float32)
            targets = np.hstack([targets, sub.reshape(len(ev), len(self.subtypes))])
        self.event_train = TaskData(self.event_tok.encode_truncated([e.text for e in ev]), targets)
        log.info("sentiment train %s; events train/dev/test %d/%d/%d; %d subtypes",
                 {k: len(v.ids) for k, v in self.sent_train.items()},
                 len(ev), len(self.events.dev), len(self.events.test), len(self.subtypes))

    def plan_epoch(self) -> list[tuple[str, list[list[int]], np.ndarray]]:
        """(task, token ids, targets) per batch, for one epoch."""
        r, bs = self.recipe, self.recipe.schedule.batch_size
        weights = {s.name: s.weight for s in r.sentiment.sources if s.weight > 0}
        seqs: list[list[int]] = []
        targets: list[np.ndarray] = []
        for name, n in quotas(weights, r.sentiment.samples_per_epoch).items():
            data = self.sent_train[name]
            picks = self._pools.setdefault(name, CyclingPool(len(data.ids), self.rng)).take(n)
            seqs.extend(data.ids[i] for i in picks)
            targets.extend(data.targets[picks])
        # Batches are cut from all sources' picks together, so a batch mixes sources.
        sent_targets = np.array(targets)
        sent_batches = [
            ("sentiment", [seqs[i] for i in b.indices], sent_targets[b.indices])
            for b in cut_batches("sentiment", list(range(len(seqs))), [len(x) for x in seqs], bs, self.rng)
        ]
        ev = self.event_train
        picks = self._pools.setdefault("events", CyclingPool(len(ev.ids), self.rng)).take(r.events.samples_per_epoch)
        event_batches = [
            ("events", [ev.ids[i] for i in b.indices], ev.targets[b.indices])
            for b in cut_batches("events", picks, [len(x) for x in ev.ids], bs, self.rng)
        ]
        groups = [sent_batches, event_batches]
        if self.distill is not None and r.distill is not None:
            kd = self.distill
            pool = self._pools.setdefault("distill", CyclingPool(len(kd.ids), self.rng))
            picks = pool.take(r.distill.samples_per_epoch)
            groups.append([("distill", [kd.ids[i] for i in b.indices], kd.targets[b.indices])
                           for b in cut_batches("distill", picks, [len(x) for x in kd.ids], bs, self.rng)])
        return interleave(groups, self.rng)

    def run(self) -> dict:
        import torch
        from tqdm import tqdm

        r = self.recipe
        seed_everything(r.seed)
        if r.schedule.threads:
            torch.set_num_threads(r.schedule.threads)
        self.load()
        self._pools = {}
        model = build_model(r.base_model, r.schedule.dropout, r.events.head).to(self.device)
        self.aux = None
        if self.subtypes:
            parents = [EVENT_TYPES.index(s.split(".")[0]) for s in self.subtypes]
            self.aux = build_subtype_head(model.encoder.config.hidden_size, parents).to(self.device)
        if self.order_seed != r.seed:
            torch.manual_seed(self.order_seed)  # same initial weights, own dropout draws
        steps_per_epoch = len(self.plan_epoch())
        self._pools = {}  # the dry-run plan above must not consume the pools
        total = steps_per_epoch * r.schedule.epochs
        if r.max_steps:
            total = min(total, r.max_steps)
        opt, lr_sched = _optimizer(model, r, total, self.aux)
        ce = torch.nn.CrossEntropyLoss(label_smoothing=r.sentiment.label_smoothing)
        pos_weight = torch.from_numpy(_event_pos_weight(self.event_train.targets, r.events.pos_weight_cap))
        n = len(EVENT_TYPES)  # type columns first, then any subtype columns
        bce = (_type_loss(r, pos_weight[:n].to(self.device)),
               partial(L.weighted_bce, pos_weight=pos_weight[n:].to(self.device)))
        self.out.mkdir(parents=True, exist_ok=True)
        history, best, bad_epochs, step = [], -1.0, 0, 0
        # A cross-fitted run's dev fold is too small to choose epochs with and is needed out of
        # fold: the run keeps its averaged last epochs whatever they score.
        chosen_by_dev = self.fold is None
        recent: list[tuple[int, dict]] = []  # (epoch, weights) of the last epochs, for averaging
        for epoch in range(1, r.schedule.epochs + 1):
            model.train()
            if self.aux is not None:
                self.aux.train()
            plan = self.plan_epoch()
            bar = tqdm(plan, desc=f"epoch {epoch}/{r.schedule.epochs}", mininterval=5, dynamic_ncols=True)
            running: dict[str, float] = {}
            t0 = time.monotonic()
            for task, seqs, targets in bar:
                loss = self._step(model, task, seqs, targets, ce, bce)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self._trained_parameters(model), 1.0)
                opt.step()
                lr_sched.step()
                running[task] = 0.98 * running.get(task, loss.item()) + 0.02 * loss.item()
                bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()}, refresh=False)
                step += 1
                if step >= total:
                    break
            dev = self.dev_scores(model)
            dev.update(epoch=epoch, train_s=round(time.monotonic() - t0, 1), steps=step)
            history.append(dev)
            log.info("epoch %d dev %s", epoch, json.dumps({k: v for k, v in dev.items() if k != "thresholds"}))
            if r.schedule.average_last > 1:
                recent = [*recent, (epoch, _cpu_copy(model.state_dict()))][-r.schedule.average_last:]
            if chosen_by_dev:
                if dev["select"] > best:
                    best, bad_epochs = dev["select"], 0
                    self._keep(model, dev)
                else:
                    bad_epochs += 1
                if bad_epochs >= r.schedule.patience:
                    break
            if step >= total:
                break
        if len(recent) > 1:
            model.load_state_dict(_mean_state([state for _, state in recent]))
            dev = self.dev_scores(model)
            dev.update(epoch=f"mean of epochs {[e for e, _ in recent]}", steps=step)
            history.append(dev)
            log.info("averaged weights dev %s", json.dumps({k: v for k, v in dev.items() if k != "thresholds"}))
            if dev["select"] > best or not chosen_by_dev:
                best = dev["select"]
                self._keep(model, dev)
        elif not chosen_by_dev:  # stopped before a second epoch (max_steps): the last weights
            best = history[-1]["select"]
            self._keep(model, history[-1])
        summary = {"recipe": asdict(r), "order_seed": self.order_seed, "fold": self.fold, "device": self.device,
                   "history": history, "best_select": best}
        (self.out / "train_log.json").write_text(json.dumps(summary, indent=1))
        return summary

    def _keep(self, model: Any, dev: dict) -> None:
        import torch

        torch.save(model.state_dict(), self.out / "checkpoint.pt")
        (self.out / "thresholds.json").write_text(json.dumps(dev["thresholds"]))

    def _trained_parameters(self, model: Any) -> list[Any]:
        aux = list(self.aux.parameters()) if self.aux is not None else []
        return [*model.parameters(), *aux]

    def _step(self, model: Any, task: str, seqs: list[list[int]], targets: np.ndarray, ce: Any,
              bce: tuple[Any, Any]) -> Any:
        import torch

        from marketpulse.inference.batching import pad

        ids, mask = pad(seqs)
        twice = task == "events" and self.recipe.events.consistency > 0
        if twice:  # two copies in one call, each with its own dropout masks
            ids, mask, targets = (np.concatenate([a, a]) for a in (ids, mask, targets))
        out = model.forward_all(torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device))
        y = torch.from_numpy(targets).to(self.device)
        if task == "sentiment":
            return ce(out[0], y.long())
        if task == "distill":  # soft targets: sentiment cross-entropy + event BCE against the teachers
            assert self.recipe.distill is not None
            soft_ce = -(y[:, :3] * torch.log_softmax(out[0], -1)).sum(-1).mean()
            soft_bce = torch.nn.functional.binary_cross_entropy_with_logits(out[1], y[:, 3:])
            return self.recipe.distill.loss_weight * (soft_ce + soft_bce)
        type_bce, subtype_bce = bce
        n = len(EVENT_TYPES)
        loss = self.recipe.events.loss_weight * type_bce(out[1], y[:, :n].float())
        if self.aux is not None:
            loss = loss + self.recipe.events.subtype_loss_weight * subtype_bce(self.aux(out[2]), y[:, n:].float())
        if twice:
            first, second = out[1].chunk(2)
            loss = loss + self.recipe.events.consistency * L.dropout_consistency(first, second)
        return loss

    def dev_scores(self, model: Any) -> dict:
        sent_score = torch_scorer(model, self.sent_tok, self.device)
        event_score = torch_scorer(model, self.event_tok, self.device)
        scores: dict[str, Any] = {}
        for name, exs in self.sent.dev.items():
            scores[f"sentiment_{name}"] = E.sentiment_report(sent_score, exs)["macro_f1"]
        others = [e for name, exs in self.sent.dev.items() if name != REFERENCE_SOURCE for e in exs]
        if others:  # a recipe with TFNS alone has no other source to score (recipe.py refuses to select on it)
            scores["sentiment_other"] = E.sentiment_report(sent_score, others)["macro_f1"]
        labels, probs = E.event_arrays(event_score, self.events.dev)
        scores |= _event_scores(labels, probs, [e.document_id for e in self.events.dev])
        return _with_selection(scores, self.recipe)


def _event_scores(labels: np.ndarray, probs: np.ndarray, documents: list[str]) -> dict:
    """Dev event figures and the thresholds tuned on them."""
    thresholds = E.tune_thresholds(labels, probs)
    scores: dict[str, Any] = {
        "events": E.multilabel_macro_f1(labels, probs, thresholds),
        "events_at_0.5": E.multilabel_macro_f1(labels, probs, np.full(len(EVENT_TYPES), 0.5)),
    }
    if len(set(documents)) > 1:  # tiny test sets may hold one dev document; then there is no estimate
        scores["events_cv"] = E.cross_validated_event_f1(labels, probs, documents)
    scores["thresholds"] = [round(float(t), 4) for t in thresholds]
    return scores


def _with_selection(scores: dict, recipe: Recipe) -> dict:
    """The scores, rounded, with the recipe's selection score added."""
    missing = [k for k in recipe.schedule.select_on if k not in scores]
    if missing:  # events_cv needs two dev documents; recipe.py checks the rest before training starts
        raise ModelError(f"schedule.select_on names {missing}, which this run did not score")
    scores = {**scores, "select": float(np.mean([scores[k] for k in recipe.schedule.select_on]))}
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}


def _cpu_copy(state: dict) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


def _mean_state(states: list[dict]) -> dict:
    """Element-wise mean of float tensors; integer buffers (position ids) are taken from the last."""
    return {k: (sum(s[k] for s in states) / len(states)) if states[-1][k].is_floating_point() else states[-1][k]
            for k in states[-1]}


def train(recipe: Recipe, datasets: Path, out: Path) -> dict:
    if recipe.adapt is not None:
        # Every run then starts from the adapted encoder; the recipe each run records names it.
        from marketpulse.training.adapt import adapt_encoder

        recipe = replace(recipe, base_model=str(adapt_encoder(recipe, datasets, out / "adapted")), adapt=None)
    if recipe.distill is not None:
        if recipe.schedule.soup_seeds:
            raise ModelError("a recipe sets either distill or schedule.soup_seeds, not both")
        return train_distilled(recipe, datasets, out)
    if not recipe.schedule.soup_seeds:
        return Trainer(recipe, datasets, out).run()
    return train_soup(recipe, datasets, out)


def _train_or_reuse(recipe: Recipe, datasets: Path, run_dir: Path, seed: int, role: str,
                    fold: int | None = None) -> dict:
    finished = _finished_run(run_dir, recipe, seed, fold)
    if finished is not None:  # an interrupted soup or distillation resumes without retraining
        log.info("%s run with data-order seed %d: reusing %s", role, seed, run_dir)
        return finished
    log.info("%s run with data-order seed %d%s", role, seed, "" if fold is None else f", dev fold {fold}")
    return Trainer(recipe, datasets, run_dir, order_seed=seed, fold=fold).run()


def dev_folds(recipe: Recipe, dev: list[D.EventExample]) -> list[set[str]]:
    """The SENTiVENT dev documents of each cross-fitted run, in soup-run order."""
    return D.document_folds(dev, 1 + len(recipe.schedule.soup_seeds), recipe.seed)


def train_distilled(recipe: Recipe, datasets: Path, out: Path) -> dict:
    """Train the teachers (the recipe without its distill section, one run per teacher seed, kept
    under <out>/runs/<seed> like soup runs), score the unlabelled texts with their ensemble, then
    train the model that ships on the labelled batches plus those soft targets."""
    from tqdm import tqdm

    kd = recipe.distill
    assert kd is not None
    teacher_recipe = replace(recipe, distill=None, schedule=replace(recipe.schedule, soup_seeds=[]))
    teachers = [_train_or_reuse(teacher_recipe, datasets, out / "runs" / str(seed), seed, "teacher")
                for seed in kd.teacher_seeds]
    student = Trainer(recipe, datasets, out)
    student.load()
    # Nothing that is scored anywhere (dev, test, the TFNS valid set) becomes a target.
    banned = [e.text for exs in student.sent.dev.values() for e in exs]
    banned += [e.text for e in [*student.events.dev, *student.events.test]]
    for path in {src.exclude_overlap_with for src in recipe.sentiment.sources if src.exclude_overlap_with}:
        banned += [e.text for e in D.read_tfns_valid(datasets, path)]
    texts = KD.unlabelled_texts(datasets, kd, banned, recipe.seed)
    ids = student.event_tok.encode_truncated(texts)

    def predictions() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for summary in tqdm(teachers, desc="teachers scoring unlabelled text"):  # one loaded at a time
            model = load_trained(recipe, out / "runs" / str(summary["order_seed"])).to(student.device)
            yield torch_scorer(model, student.event_tok, student.device)(texts)

    targets = KD.ensemble_targets(predictions())
    log.info("distillation: %d unlabelled texts scored by %d teachers", len(texts), len(teachers))
    summary = Trainer(recipe, datasets, out, distill=TaskData(ids, targets)).run()
    summary["teachers"] = teachers
    summary["distill_texts"] = len(texts)
    (out / "train_log.json").write_text(json.dumps(summary, indent=1))
    return summary


def train_soup(recipe: Recipe, datasets: Path, out: Path) -> dict:
    """Train the main run and one run per soup seed (same data split, same initial weights, own
    data order), then average their kept weights. Fine-tuned runs from one initialisation stay in
    one basin, so their mean is a single model that behaves like a small ensemble, at no inference
    cost. Each run's files stay under <out>/runs/<seed>; <out> gets the winner's."""
    import torch

    seeds = [recipe.seed, *recipe.schedule.soup_seeds]
    cross_fit = recipe.schedule.cross_fit
    runs = [_train_or_reuse(recipe, datasets, out / "runs" / str(seed), seed, "soup", i if cross_fit else None)
            for i, seed in enumerate(seeds)]
    trainer = Trainer(recipe, datasets, out)
    trainer.load()
    states = [torch.load(out / "runs" / str(r["order_seed"]) / "checkpoint.pt", map_location="cpu",
                         weights_only=True) for r in runs]
    model = build_model(recipe.base_model, recipe.schedule.dropout, recipe.events.head).to(trainer.device)
    model.load_state_dict(_mean_state(states))
    soup = trainer.dev_scores(model)
    if cross_fit:
        probs = out_of_fold_event_probs(recipe, trainer, seeds, out / "runs")
        np.save(out / "out_of_fold_event_probs.npy", probs)  # rows in SENTiVENT dev order
        soup = _out_of_fold_scores(recipe, trainer.events.dev, probs, soup)
    log.info("soup of %d runs dev %s", len(runs), json.dumps({k: v for k, v in soup.items() if k != "thresholds"}))
    best = max(runs, key=lambda r: r["best_select"])
    # A cross-fitted soup is kept: its runs were each scored on a different fold, so their
    # figures do not compare with each other or with the soup's.
    if cross_fit or soup["select"] > best["best_select"]:
        kept = "soup"
        trainer._keep(model, soup)
    else:
        kept = f"run {best['order_seed']}"
        run_dir = out / "runs" / str(best["order_seed"])
        for name in ("checkpoint.pt", "thresholds.json"):
            shutil.copyfile(run_dir / name, out / name)
    summary = {"recipe": asdict(recipe), "device": trainer.device, "runs": runs, "soup": soup, "kept": kept,
               "best_select": soup["select"] if kept == "soup" else best["best_select"]}
    (out / "train_log.json").write_text(json.dumps(summary, indent=1))
    return summary


def out_of_fold_event_probs(recipe: Recipe, trainer: Trainer, seeds: list[int], runs: Path) -> np.ndarray:
    """Event probabilities of every SENTiVENT dev sentence from the one cross-fitted run that
    never trained on it (runs/<seed>, in soup-run order)."""
    dev = trainer.events.dev
    probs = np.zeros((len(dev), len(EVENT_TYPES)), dtype=np.float32)
    for seed, fold in zip(seeds, dev_folds(recipe, dev), strict=True):
        rows = [i for i, e in enumerate(dev) if e.document_id in fold]
        model = load_trained(recipe, runs / str(seed)).to(trainer.device)
        probs[rows] = torch_scorer(model, trainer.event_tok, trainer.device)([dev[i].text for i in rows])[1]
    return probs


def _out_of_fold_scores(recipe: Recipe, dev: list[D.EventExample], probs: np.ndarray, soup: dict) -> dict:
    """A cross-fitted soup's event figures and thresholds, from its runs' out-of-fold probabilities.
    The soup itself has trained on all of dev, so its own event figures are kept only as
    `*_in_sample`, never used to tune or select."""
    labels = np.array([e.labels for e in dev], dtype=bool)
    scores = {k: v for k, v in soup.items() if not k.startswith("events") and k not in ("thresholds", "select")}
    scores |= {f"{k}_in_sample": v for k, v in soup.items() if k.startswith("events")}
    scores |= _event_scores(labels, probs, [e.document_id for e in dev])
    scores["events_scored_by"] = "out-of-fold runs"
    return _with_selection(scores, recipe)


def _run_identity(recipe: dict) -> dict:
    """What decides a run's weights: the recipe minus its name, version and soup list. Parsing
    first fills in defaults, so a log written before an option existed matches a recipe that
    leaves that option at its default."""
    full = json.loads(json.dumps(asdict(parse_recipe(recipe))))
    schedule = {k: v for k, v in full["schedule"].items() if k != "soup_seeds"}
    return {**{k: v for k, v in full.items() if k not in ("name", "version")}, "schedule": schedule}


def _finished_run(run_dir: Path, recipe: Recipe, order_seed: int, fold: int | None = None) -> dict | None:
    """A run folder's summary, if it holds a finished run of this recipe with this order seed
    (and this dev fold, for a cross-fitted run)."""
    log_file = run_dir / "train_log.json"
    if not (log_file.is_file() and (run_dir / "checkpoint.pt").is_file()):
        return None
    summary = json.loads(log_file.read_text())
    same_recipe = _run_identity(summary["recipe"]) == _run_identity(asdict(recipe))
    same_run = summary.get("order_seed") == order_seed and summary.get("fold") == fold
    return summary if same_recipe and same_run else None
