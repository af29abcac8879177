"""Resumable sweeps: MAE over mask ratio x patch size, AE, Gaussian DAE, supervised, fine-tuning.

Every sweep point is one :func:`mrptheory.experiments.mae.training.train` run with its own checkpoint folder; its
summary is appended to a :class:`~mrptheory.results.JsonlStore` as soon as it finishes. Re-running
the same sweep skips finished points (their key holds a fingerprint of the point's full config, so a
changed setting is a new point) and resumes an interrupted point from its last epoch.

Points, for every seed:

* ``mae`` at the reference setting (``base.model.mask_ratio``, ``base.model.patch_size``), with the
  evaluation curve (probe / k-NN / test reconstruction loss every ``eval_every`` epochs);
* ``ae`` and ``dae`` (each noise std) at the reference patch size, with curves;
* ``mae`` at the other (ratio, patch) settings (full grid or a cross through the reference), final
  evaluation only;
* ``scratch``: encoder + head trained on labels from scratch with the fine-tuning budget, with curve;
* ``finetune``: the reference MAE encoder fine-tuned with the same budget, with curve.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mrptheory.data.dataset import DatasetSplits
from mrptheory.data.source import DataSource
from mrptheory.launch.unit import Unit
from mrptheory.experiments.mae.model import MAEConfig
from mrptheory.experiments.mae.patches import num_visible
from mrptheory.results import JsonlStore, fingerprint
from mrptheory.experiments.mae.training import MAETrainConfig, train
from mrptheory.experiments.mae.finetune import FinetuneConfig, finetune_config
from mrptheory.config_spec import Rule, constrained, flag, nested, seq, text


SWEEP_METHODS = ("mae", "ae", "dae", "scratch", "finetune")


@constrained(Rule("base_is_mae", lambda c: c.base.model.method == "mae",
                  lambda c: f"sweep base method must be 'mae'; got {c.base.model.method!r}",
                  ("base",)), after="_check_settings")
@dataclass(frozen=True)
class SweepConfig:
    """A sweep: the reference run plus the settings to vary.

    Attributes:
        name: used in file names (``mae_sweep_<name>.jsonl``, ``mae_runs_<name>/``).
        base: the reference pretraining run (method ``mae``, its mask ratio and patch size).
        mask_ratios / patch_sizes: MAE settings to sweep.
        grid: every (ratio, patch) pair when True, else only the cross through the reference.
        noise_stds: Gaussian DAE noise levels (standardised pixel units).
        seeds: repetitions (each point is run once per seed).
        finetune: the labelled budget shared by fine-tuning and the from-scratch control.
        methods: which families to run (subset of mae, ae, dae, scratch, finetune).
    """

    name: str = text("default", doc="a file-name part")
    base: MAETrainConfig = nested(MAETrainConfig)
    mask_ratios: tuple[float, ...] = seq((0.5, 0.75, 0.9), "float", 0.0, 1.0, high_open=True,
                                         min_len=0)  # the reference setting is always run
    patch_sizes: tuple[int, ...] = seq((4, 7), "int", 1, min_len=0)
    grid: bool = flag(True)
    noise_stds: tuple[float, ...] = seq((0.5,), "float", 0.0, None, low_open=True, min_len=0)
    seeds: tuple[int, ...] = seq((0,), "int", 0, 2**32 - 1)
    finetune: FinetuneConfig = nested(FinetuneConfig)
    methods: tuple[str, ...] = seq(SWEEP_METHODS, "str", choices=SWEEP_METHODS, min_len=0)

    def _check_settings(self) -> None:
        """Every MAE setting of the sweep is a valid MAEConfig (ConfigError before any training
        starts)."""
        for ratio, patch in self.mae_settings():
            dataclasses.replace(self.base.model, mask_ratio=ratio, patch_size=patch)

    @property
    def ref(self) -> tuple[float, int]:
        return self.base.model.mask_ratio, self.base.model.patch_size

    def mae_settings(self) -> list[tuple[float, int]]:
        """(mask ratio, patch size) pairs, the reference first."""
        ratios = sorted(set(self.mask_ratios) | {self.ref[0]})
        patches = sorted(set(self.patch_sizes) | {self.ref[1]})
        if self.grid:
            pairs = [(r, p) for p in patches for r in ratios]
        else:
            pairs = [(r, self.ref[1]) for r in ratios] + [(self.ref[0], p) for p in patches]
        out = [self.ref]
        for pair in pairs:
            if pair not in out:
                out.append(pair)
        return out


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: its label fields, its config and (fine-tuning) what it starts from."""

    method: str          # mae | ae | dae | scratch | finetune
    mask_ratio: float
    patch_size: int
    noise_std: float
    seed: int
    config: MAETrainConfig
    init_from: str | None = None   # key of the point whose encoder a fine-tuning run starts from
    data_id: str = ""              # content fingerprint of the data (mae_protocol.data_identity)

    @property
    def key(self) -> str:
        label = (f"{self.method}-p{self.patch_size}-r{self.mask_ratio:g}-s{self.noise_std:g}"
                 f"-seed{self.seed}")
        init = f"-from-{fingerprint(self.init_from, 6)}" if self.init_from else ""
        data = f"-d{fingerprint(self.data_id, 6)}" if self.data_id else ""
        return f"{label}-{self.config.fingerprint()}{init}{data}"


def sweep_points(cfg: SweepConfig, data_id: str = "") -> list[SweepPoint]:
    """Every point of the sweep in run order (a fine-tuning point after the run it starts from);
    ``data_id`` (the data's content fingerprint) is part of every key."""
    points = _points(cfg)
    if not data_id:
        return points
    keyed: list[SweepPoint] = []
    renamed: dict[str, str] = {}
    for p in points:
        new = dataclasses.replace(p, data_id=data_id,
                                  init_from=renamed.get(p.init_from) if p.init_from else None)
        renamed[p.key] = new.key
        keyed.append(new)
    return keyed


def _points(cfg: SweepConfig) -> list[SweepPoint]:
    points: list[SweepPoint] = []
    ref_ratio, ref_patch = cfg.ref
    for seed in cfg.seeds:
        base = dataclasses.replace(cfg.base, seed=seed)

        def with_model(**changes: Any) -> MAETrainConfig:
            return dataclasses.replace(base, model=dataclasses.replace(base.model, **changes))

        ref_point = SweepPoint("mae", ref_ratio, ref_patch, 0.0, seed, base)
        if "mae" in cfg.methods or "finetune" in cfg.methods:
            points.append(ref_point)
        if "ae" in cfg.methods:
            points.append(SweepPoint("ae", 0.0, ref_patch, 0.0, seed, with_model(method="ae")))
        if "dae" in cfg.methods:
            for s in cfg.noise_stds:
                points.append(SweepPoint("dae", 0.0, ref_patch, s, seed,
                                         with_model(method="dae", noise_std=s)))
        if "scratch" in cfg.methods:
            points.append(SweepPoint("scratch", 0.0, ref_patch, 0.0, seed,
                                     finetune_config(base, cfg.finetune)))
        if "finetune" in cfg.methods:
            points.append(SweepPoint("finetune", ref_ratio, ref_patch, 0.0, seed,
                                     finetune_config(base, cfg.finetune), init_from=ref_point.key))
        if "mae" in cfg.methods:
            for ratio, patch in cfg.mae_settings()[1:]:
                c = with_model(mask_ratio=ratio, patch_size=patch)
                c = dataclasses.replace(c, eval_every=0)
                points.append(SweepPoint("mae", ratio, patch, 0.0, seed, c))
    return points


def _ref_key(points: list[SweepPoint], seed: int) -> str:
    """Key of the reference MAE point of ``seed`` (the first ``mae`` point of that seed), or ''."""
    return next((p.key for p in points if p.method == "mae" and p.seed == seed), "")


def run_dir_for(out_dir: Path, cfg: SweepConfig, key: str) -> Path:
    return Path(out_dir) / f"mae_runs_{cfg.name}" / key


def store_for(out_dir: Path, cfg: SweepConfig) -> JsonlStore:
    return JsonlStore(Path(out_dir) / f"mae_sweep_{cfg.name}.jsonl")


def depends_on(point: SweepPoint, points: list[SweepPoint]) -> str | None:
    """Key of the point whose run ``point`` reads, or None: a ``finetune`` point loads its
    reference MAE's encoder, a ``scratch`` point its seed's reference pixel normalisation (when
    the sweep has a reference)."""
    if point.init_from is not None:
        return point.init_from
    if point.method == "scratch":
        return _ref_key(points, point.seed) or None
    return None


def dependency_waves(points: list[SweepPoint]) -> list[list[SweepPoint]]:
    """The points in two waves for concurrent jobs: first every point that reads no other
    point's run, then those that do (:func:`depends_on`); an empty wave is dropped."""
    first = [p for p in points if depends_on(p, points) is None]
    second = [p for p in points if depends_on(p, points) is not None]
    return [wave for wave in (first, second) if wave]


def run_mae_sweep(data: DatasetSplits, cfg: SweepConfig, out_dir: str | Path,
                  show_progress: bool | None = None,
                  log: Callable[[str], None] | None = None,
                  data_id: str | None = None, launcher=None,
                  source: DataSource | None = None) -> list[dict[str, Any]]:
    """Run (or resume) every point; returns the records of this sweep's points in run order.

    Every point's key holds ``data_id`` (default: the content fingerprint of ``data``'s arrays,
    :func:`mrptheory.experiments.mae.protocol.data_identity`), so replacing the data re-runs it.

    ``launcher`` (a :mod:`mrptheory.launch` launcher; default: here) says where the points run.
    Here they run one after the other in run order (a fine-tuning point after its reference).
    As jobs (one per missing point) they run in :func:`dependency_waves`: a dependent point is
    submitted once the point it reads is stored (one whose reference failed is reported, not
    run). A job reads the data itself from ``source`` (required then: the data set's name,
    folder and fingerprint, checked on load); the run folders stay under ``out_dir``, which every
    node must share. ``log`` gets one line per computed point (its final numbers): here as it
    finishes, for jobs after its wave."""
    from mrptheory.experiments.mae.protocol import data_identity
    from mrptheory.launch import LocalLauncher, run_units

    launcher = launcher or LocalLauncher()
    here = launcher.name == "local"
    if not here and source is None:
        raise ValueError("run_mae_sweep: jobs read the data from a DataSource; pass source=")
    out_dir = Path(out_dir)
    store = store_for(out_dir, cfg)
    data_id = data_id or data_identity(data)
    points = sweep_points(cfg, data_id)
    index = {p.key: i for i, p in enumerate(points, 1)}

    def desc_of(point: SweepPoint) -> str:
        return (f"[{index[point.key]}/{len(points)}] {point.method} p{point.patch_size} "
                f"r{point.mask_ratio:g}")

    def logged(point: SweepPoint, record: dict[str, Any]) -> None:
        if log is not None:
            log(f"{desc_of(point)}: " + ", ".join(f"{k}={v:.4f}"
                                                  for k, v in record["final"].items()))

    if here:
        def compute(point: SweepPoint) -> dict[str, Any]:
            record = _run_point(point, _ref_key(points, point.seed), cfg, data, out_dir,
                                desc_of(point), show_progress, data_id)
            logged(point, record)
            return record

        # the launcher's own bar would wrap each point's training bar: left off
        return run_units([Unit(p.key, compute, (p,)) for p in points], store, launcher,
                         show_progress=False)

    def job(point: SweepPoint) -> Unit:
        return Unit(point.key, run_point_job,
                    (point, _ref_key(points, point.seed), cfg, source, str(out_dir),
                     desc_of(point), show_progress, data_id), threads=torch.get_num_threads())

    stored = _run_waves(points, store, launcher, job, logged, f"mae sweep {cfg.name}",
                        show_progress)
    return [stored[p.key] for p in points]


def _run_waves(points: list[SweepPoint], store: JsonlStore, launcher,
               job: Callable[[SweepPoint], Unit],
               logged: Callable[[SweepPoint, dict[str, Any]], None], desc: str,
               show_progress: bool | None) -> dict[str, dict[str, Any]]:
    """Submit the missing points as jobs, wave by wave (:func:`dependency_waves`); the stored
    records by key. A point whose dependency is not stored after its wave is not submitted;
    every failed or unsubmitted point is raised at the end (:class:`UnitsFailedError`)."""
    from mrptheory.launch import UnitsFailedError, run_units

    failures: list[tuple[str, str]] = []
    for wave in dependency_waves(points):
        before = store.done_keys()
        ready = [p for p in wave if p.key in before or depends_on(p, points) in (None, *before)]
        failures += [(p.key, f"not submitted: it reads the run of point {depends_on(p, points)}, "
                             "which did not finish") for p in wave if p not in ready]
        try:
            run_units([job(p) for p in ready], store, launcher, desc=desc,
                      show_progress=show_progress)
        except UnitsFailedError as exc:  # the dependents of the others still run
            failures += exc.failures
        stored = {r["key"]: r for r in store.records() if "key" in r}
        for point in ready:
            if point.key in stored and point.key not in before:
                logged(point, stored[point.key])
    if failures:
        raise UnitsFailedError(failures, len(points))
    return {r["key"]: r for r in store.records() if "key" in r}


def run_point_job(point: SweepPoint, ref_key: str, cfg: SweepConfig, source: DataSource,
                  out_dir: str, desc: str, show_progress: bool | None,
                  data_id: str) -> dict[str, Any]:
    """One sweep point as a job: read the data from ``source`` (checked to be the sweep's),
    then train the point as :func:`run_mae_sweep` does here."""
    return _run_point(point, ref_key, cfg, source.load(), Path(out_dir), desc, show_progress,
                      data_id)


def _run_point(point: Any, ref_key: str, cfg: SweepConfig, data: DatasetSplits,
               out_dir: Path, desc: str, show_progress: bool | None,
               data_id: str) -> dict[str, Any]:
    """Train one sweep point (from its reference run's encoder when it fine-tunes one;
    ``ref_key``: the key of its seed's reference MAE point, or '')."""
    from mrptheory.experiments.mae.finetune import load_pretrained

    start = time.perf_counter()
    init, norm = None, None
    if point.init_from is not None:
        _, init, norm = load_pretrained(run_dir_for(out_dir, cfg, point.init_from))
    elif point.method == "scratch":
        # same pixel standardisation as the pretraining run it is compared with
        ref_dir = run_dir_for(out_dir, cfg, ref_key)
        if ref_key and (ref_dir / "checkpoint.pt").exists():
            norm = load_pretrained(ref_dir)[2]
    result = train(point.config, data, run_dir_for(out_dir, cfg, point.key), init_encoder=init,
                   norm=norm, show_progress=show_progress, desc=desc)
    record = {
        "key": point.key, "method": point.method, "mask_ratio": point.mask_ratio,
        "patch_size": point.patch_size, "noise_std": point.noise_std, "seed": point.seed,
        "visible_patches": num_visible(point.config.model.num_patches,
                                       point.config.model.effective_mask_ratio)
        if point.method in ("mae", "ae", "dae") else None,
        "init_from": point.init_from, "config": point.config.to_dict(),
        "data_id": data_id,
        "history": result.history, "final": result.final, "timing": result.timing,
        "seconds": round(time.perf_counter() - start, 2),
    }
    return record


def patch_sizes_for(image_shape: tuple[int, int, int]) -> tuple[int, ...]:
    """Reference patch side first (4 when that leaves >= 16 patches, else 2), then the largest
    other side dividing the image that still leaves >= 10 patches (7 on 28x28, 8 on 32x32)."""
    _, h, w = image_shape
    divisors = [d for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0]
    ref = 4 if 4 in divisors and (h // 4) * (w // 4) >= 16 else (2 if 2 in divisors else 1)
    others = [d for d in divisors if d > ref and (h // d) * (w // d) >= 10]
    return (ref, max(others)) if others else (ref,)


def quick_sweep_config(image_shape: tuple[int, int, int] = (1, 28, 28), num_classes: int = 10,
                       device: str = "auto") -> SweepConfig:
    """A few-minute sweep on 2 CPU cores (single-threaded torch ~3000 MAE images/s).

    Reconstruction target: per-patch normalised pixels (``norm_pix_loss``, as in the MAE paper),
    chosen by the rule of ``simulations/mae_recipe_search.py`` fixed before running it (best
    validation linear probe among the recipes of equal cost): validation probe 0.714 vs 0.695 for
    plain pixels (one seed, 2,000 validation images: a difference within noise), both below raw
    pixels (0.774).
    """
    patches = patch_sizes_for(image_shape)
    model = MAEConfig(image_shape=image_shape, patch_size=patches[0],
                      embed_dim=64, depth=2, num_heads=4, decoder_embed_dim=32, decoder_depth=1,
                      decoder_num_heads=4, mlp_ratio=2.0, mask_ratio=0.75, num_classes=num_classes,
                      norm_pix_loss=True)
    base = MAETrainConfig(model=model, epochs=6, batch_size=128, lr=1.5e-3, warmup_epochs=1.0,
                          train_samples=4000, probe_train_samples=1000, test_samples=2000,
                          eval_every=1, device=device)
    return SweepConfig(name="quick", base=base, mask_ratios=(0.5, 0.75, 0.9), patch_sizes=patches,
                       grid=True, noise_stds=(0.5,), seeds=(0,),
                       finetune=FinetuneConfig(epochs=6, batch_size=128, lr=1.5e-3,
                                               train_samples=4000))


def default_sweep_config(image_shape: tuple[int, int, int] = (1, 28, 28), num_classes: int = 10,
                         device: str = "auto") -> SweepConfig:
    """Tens of minutes on 2 CPU cores: more data and epochs, three ratios x two patch sizes."""
    quick = quick_sweep_config(image_shape, num_classes, device)
    base = dataclasses.replace(quick.base, epochs=15, train_samples=12000,
                               probe_train_samples=3000, test_samples=4000, eval_every=2,
                               model=dataclasses.replace(quick.base.model, depth=3))
    return dataclasses.replace(quick, name="default", base=base, mask_ratios=(0.25, 0.5, 0.75, 0.9),
                               noise_stds=(0.25, 0.5, 1.0),
                               finetune=FinetuneConfig(epochs=10, lr=1.5e-3, train_samples=12000))


def gpu_sweep_config(image_shape: tuple[int, int, int] = (1, 28, 28), num_classes: int = 10,
                     device: str = "auto") -> SweepConfig:
    """Full-size settings for a GPU: the whole train split, a wider/deeper ViT, 3 seeds."""
    quick = quick_sweep_config(image_shape, num_classes, device)
    model = dataclasses.replace(quick.base.model, embed_dim=192, depth=6, num_heads=6,
                                decoder_embed_dim=128, decoder_depth=2, decoder_num_heads=4,
                                mlp_ratio=4.0)
    base = dataclasses.replace(quick.base, model=model, epochs=100, batch_size=256, lr=1e-3,
                               warmup_epochs=5.0, train_samples=None, probe_train_samples=10000,
                               test_samples=None, eval_every=5)
    return dataclasses.replace(quick, name="gpu", base=base, mask_ratios=(0.25, 0.5, 0.75, 0.9),
                               patch_sizes=tuple(sorted({2, *quick.patch_sizes})),
                               noise_stds=(0.25, 0.5, 1.0), seeds=(0, 1, 2),
                               finetune=FinetuneConfig(epochs=50, batch_size=256, lr=1e-3,
                                                       warmup_epochs=5.0, train_samples=None))


PRESETS: dict[str, Callable[..., SweepConfig]] = {
    "quick": quick_sweep_config, "default": default_sweep_config, "gpu": gpu_sweep_config,
}
