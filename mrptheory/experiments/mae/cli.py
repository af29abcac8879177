"""``mrp mae``: masked-autoencoder pretraining, probing, fine-tuning and sweeps on real images.

    mrp mae pretrain --method mae --mask-ratio 0.75 --patch-size 4 --epochs 10
    mrp mae probe paper_figs/mae_runs_cli/<run>
    mrp mae finetune paper_figs/mae_runs_cli/<run> --epochs 10 --compare-scratch
    mrp mae sweep --quick                 # a few minutes on 2 CPU cores
    mrp mae sweep --dataset cifar10 --data-root ~/data --preset gpu

Settings are validated before any data is read (a patch size that does not divide the image, a mask
ratio that leaves no patch visible, a ratio outside [0, 1) exit with code 2 and a one-line message).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from mrptheory.cli_support.options import (data_root_option, dataset_option, device_option,
                                           dry_run_data_shape, dry_run_inputs, dry_run_option,
                                           experiment_out_option, flags_named, parse_float_list,
                                           parse_int_list, preset_options, progress_option,
                                           refuse_unused, seed_option, threads_option, with_presets)
from mrptheory.data.dataset import DatasetSplits
from mrptheory.data.registry import IMAGE_FOLDER_NAMES
from mrptheory.device import set_cpu_threads
from mrptheory.errors import ConfigError
from mrptheory.launch.options import job_data_source, launcher_options, pop_launcher_options
from mrptheory.planning import print_dry_run
from mrptheory.validation import check_int

def load_splits(dataset: str, data_root: str | None) -> DatasetSplits:
    """The data set's train/test splits (tests replace this with a tiny generated set)."""
    from mrptheory.data.registry import load_dataset

    return load_dataset(dataset, data_root)


def dataset_shape(dataset: str) -> tuple[tuple[int, int, int], int]:
    """``((C, H, W), classes)`` from the data registry (tests replace this with a tiny shape)."""
    from mrptheory.data.registry import dataset_shape as registry_shape

    return registry_shape(dataset)


#: ``mae pretrain`` sizes without / with ``--quick`` (explicit options and preset files override
#: either)
PRETRAIN_DEFAULTS = {"epochs": 10, "train_samples": 10000, "test_samples": 2000,
                     "probe_train_samples": 2000}
PRETRAIN_QUICK = {"epochs": 3, "train_samples": 2000, "test_samples": 1000,
                  "probe_train_samples": 1000}
#: config fields ``mae pretrain`` sets itself (from the data set and --device): not preset keys
PRETRAIN_DERIVED = ("image_shape", "num_classes", "hflip", "model")


@click.group()
def mae() -> None:
    """Masked autoencoders vs AE / Gaussian DAE / supervised ViTs on real images."""


def _pretrain_configs():
    from mrptheory.experiments.mae.model import MAEConfig
    from mrptheory.experiments.mae.training import MAETrainConfig

    return MAEConfig, MAETrainConfig


@mae.command()
@preset_options("mae", *_pretrain_configs(), derived=PRETRAIN_DERIVED)
@click.option("--method", type=click.Choice(["mae", "ae", "dae", "supervised"]), default="mae",
              show_default=True)
@click.option("--mask-ratio", type=float, default=0.75, show_default=True)
@click.option("--patch-size", type=int, default=4, show_default=True)
@click.option("--noise-std", type=float, default=0.5, show_default=True,
              help="Gaussian DAE noise (standardised pixel units).")
@click.option("--norm-pix-loss/--no-norm-pix-loss", default=False, show_default=True,
              help="Reconstruct per-patch normalised pixels.")
@click.option("--embed-dim", type=int, default=64, show_default=True)
@click.option("--depth", type=int, default=2, show_default=True)
@click.option("--num-heads", type=int, default=4, show_default=True)
@click.option("--decoder-embed-dim", type=int, default=32, show_default=True)
@click.option("--epochs", type=int, default=None, help="[default: 10; --quick: 3]")
@click.option("--batch-size", type=int, default=128, show_default=True,
              help="Images per step and process (under torchrun the effective batch is this x "
                   "the number of processes).")
@click.option("--lr", type=float, default=1.5e-3, show_default=True)
@click.option("--blr", type=float, default=None,
              help="Base learning rate: lr = blr x effective batch / 256 (the MAE reference "
                   "rule); replaces --lr.")
@click.option("--train-samples", type=int, default=None,
              help="Training subset size (0: the whole train split) [default: 10000; --quick: 2000].")
@click.option("--test-samples", type=int, default=None,
              help="Test images for every test metric (0: all) [default: 2000; --quick: 1000].")
@click.option("--probe-train-samples", type=int, default=None,
              help="Training images used to fit the linear / k-NN probes "
                   "[default: 2000; --quick: 1000].")
@click.option("--eval-every", type=int, default=1, show_default=True)
@click.option("--quick", is_flag=True, help="Smoke-run sizes (3 epochs on 2000 images) for the "
                                            "options not given explicitly.")
@dataset_option()
@data_root_option
@experiment_out_option("mae")
@seed_option
@device_option
@progress_option
@threads_option(default=0)
@click.option("--fresh", is_flag=True, help="Delete this run's checkpoint and start over.")
@dry_run_option
def pretrain(**kw) -> None:
    """Pretrain one model (resumes from its checkpoint if interrupted); probe it along the way.

    Runs data-parallel under ``torchrun --nproc_per_node N`` (rank 0 writes and prints); the run
    is defined by the effective batch, so its checkpoint resumes under any N that keeps it."""
    from mrptheory import distributed
    from mrptheory.config_spec import build
    from mrptheory.experiments.mae import figures  # noqa: F401  (its figure kinds)
    from mrptheory.experiments.mae.report import label_of
    from mrptheory.experiments.mae.training import train
    from mrptheory.plots.registry import write

    MAEConfig, MAETrainConfig = _pretrain_configs()
    kw = with_presets(kw)
    method, dataset, seed = kw["method"], kw["dataset"], kw["seed"]
    refuse_unused({"--mask-ratio": "mask_ratio"}, "the MAE (--method mae)", method == "mae")
    refuse_unused({"--noise-std": "noise_std"}, "the Gaussian DAE (--method dae)", method == "dae")
    refuse_unused({"--norm-pix-loss/--no-norm-pix-loss": "norm_pix_loss"},
                  "the autoencoders' reconstruction target (--method mae, ae or dae)",
                  method != "supervised")
    dry_run, (label, planned) = kw.pop("dry_run"), dry_run_inputs()
    data = None
    if dry_run:  # the preset's [dry_run] table, else the registry, says what the data hold
        shape, classes = dry_run_data_shape(dataset, planned)
    elif dataset in IMAGE_FOLDER_NAMES:  # its shape is known once it is read
        data = load_splits(dataset, kw["data_root"])
        shape, classes = data.train.image_shape, data.train.num_classes
    else:
        shape, classes = dataset_shape(dataset)
    # explicit options (and preset files) win over the --quick sizes; the configs validate all
    sizes = PRETRAIN_QUICK if kw["quick"] else PRETRAIN_DEFAULTS
    kw.update({key: value for key, value in sizes.items() if kw.get(key) is None})
    blr = kw.get("blr")
    if blr is not None and click.get_current_context().get_parameter_source("lr") != \
            click.core.ParameterSource.DEFAULT:
        raise ConfigError("give --lr (absolute) or --blr (base, scaled by the batch), not both")
    # a dry run plans the preset's launch (its processes); a run is the launch it is in
    dist = None if dry_run else distributed.context(kw["device"])
    world = int(planned.get("processes", 1)) if dry_run else dist.world
    per_process_batch = kw["batch_size"]
    if blr is not None:
        kw["lr"] = distributed.scaled_lr(blr, per_process_batch * world)
    kw["batch_size"] = per_process_batch * world  # the config holds the effective batch
    with flags_named():
        model = build(MAEConfig, kw, image_shape=shape, num_classes=classes,
                      noise_std=kw["noise_std"] if method == "dae" else 0.0)
        cfg = build(MAETrainConfig, kw, model=model, hflip=shape[0] == 3)
    if dry_run:
        from mrptheory.experiments.mae.dry_run import plan_pretrain

        n_images = kw["train_samples"] or int(planned.get("train_images", 60000))
        n_eval = cfg.probe_train_samples + (kw["test_samples"] or 10000)
        print_dry_run(lambda device: plan_pretrain(label, cfg, world=world, base_lr=blr,
                                                   n_train=n_images, n_eval=n_eval, device=device),
                      kw["device"])
        return
    patch_size, mask_ratio, batch_size = model.patch_size, model.mask_ratio, cfg.batch_size
    train_samples, test_samples = kw["train_samples"], kw["test_samples"]
    probe_samples, out_dir = cfg.probe_train_samples, kw["out_dir"]
    from mrptheory.resources import check_fits
    from mrptheory.experiments.mae.training import estimated_bytes

    # estimated before loading: a whole split ("0") is counted as 60,000 images
    n_train = train_samples or 60000
    check_fits(estimated_bytes(cfg, n_train, probe_samples + (test_samples or 10000)),
               f"the ViT (embed dim {model.embed_dim}, depth {model.depth}, batch {batch_size})",
               "--embed-dim/--depth/--batch-size")
    set_cpu_threads(kw["threads"])
    data = data or load_splits(dataset, kw["data_root"])
    label = f"{method}-p{patch_size}-r{mask_ratio:g}-seed{seed}-{cfg.fingerprint()}"
    run_dir = Path(out_dir) / "mae_runs_cli" / label
    from mrptheory.errors import CorruptCheckpointError
    from mrptheory.experiments.mae.training import CHECKPOINT_NAME

    if kw["fresh"] and dist.is_main:
        (run_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
    dist.barrier()  # every rank starts from the same (absent or present) checkpoint
    try:
        result = train(cfg, data, run_dir, show_progress=kw["progress"], desc=method)
    except CorruptCheckpointError as exc:
        raise CorruptCheckpointError(f"{exc} (or rerun with --fresh)") from None
    if not dist.is_main:
        return  # rank 0 writes the results and the checkpoint
    click.echo(distributed.lr_statement(cfg.lr, batch_size // dist.world, dist.world, blr))
    record = {"method": "scratch" if method == "supervised" else method,
              "mask_ratio": cfg.model.effective_mask_ratio, "patch_size": patch_size,
              "noise_std": cfg.model.noise_std}
    h = result.history
    payload = {
        "figure_kind": "mae_probe_curves", "name": f"mae_pretrain_{label}", "dataset": dataset,
        "reference": f"r={mask_ratio:g} p={patch_size}", "conditions": f"single run, seed {seed}",
        "curves": {label_of(record): {"epoch": h["eval_epoch"], "probe_acc": h["probe_acc"],
                                      "knn_acc": h["knn_acc"]}},
        "progress": {}, "final_accuracy": {}, "config": cfg.to_dict(), "seed": seed,
        "final": result.final, "timing": result.timing, "run_dir": str(run_dir),
    }
    if method != "supervised":
        from mrptheory.experiments.mae.report import progress_curves

        payload["progress"] = progress_curves(h)
    from mrptheory.experiments.mae.baselines import RANDOM, RAW, raw_pixel_metrics

    payload["baselines"] = {RAW: raw_pixel_metrics(cfg, data)}
    if h["eval_epoch"] and h["eval_epoch"][0] == 0:
        payload["baselines"][RANDOM] = {"probe_acc": h["probe_acc"][0], "knn_acc": h["knn_acc"][0]}
    for path in write({payload["name"]: payload}, out_dir):
        click.echo(f"wrote {path}")
    click.echo(f"checkpoint: {run_dir}")
    click.echo(", ".join(f"{k}={v:.4f}" for k, v in result.final.items())
               + f"; {result.timing['images_per_s']:.0f} images/s")
    click.echo("baselines: " + "; ".join(f"{k} probe {v['probe_acc']:.4f}, k-NN {v['knn_acc']:.4f}"
                                         for k, v in payload["baselines"].items()))


@mae.command()
@click.argument("run", type=click.Path(exists=True))
@click.option("--knn-k", type=int, default=20, show_default=True)
@click.option("--probe-train-samples", type=int, default=None, help="Default: as in the run.")
@click.option("--test-samples", type=int, default=None, help="Default: as in the run (0: all).")
@dataset_option()
@data_root_option
@device_option
@threads_option(default=0)
def probe(run: str, knn_k: int, probe_train_samples: int | None, test_samples: int | None, dataset: str,
          data_root: str | None, device: str, threads: int) -> None:
    """Linear-probe and k-NN accuracy of the frozen encoder of a trained RUN (folder or .pt)."""
    from mrptheory.device import resolve_device
    from mrptheory.results import save_json
    from mrptheory.experiments.mae.training import load_run, prepare_data
    from mrptheory.experiments.mae.evaluation import probe_encoder

    check_int("--knn-k", knn_k, 1)
    dev = resolve_device(device)
    cfg, model, payload = load_run(run, dev)
    changes = {"device": device, "knn_k": knn_k}
    if probe_train_samples is not None:
        changes["probe_train_samples"] = probe_train_samples
    if test_samples is not None:
        changes["test_samples"] = test_samples or None
    cfg = dataclasses.replace(cfg, **changes)
    set_cpu_threads(threads)
    data = load_splits(dataset, data_root)
    prepared = prepare_data(cfg, data, dev, tuple(payload["norm"]))
    n_probe = len(prepared.eval.probe_train_y)
    if knn_k > n_probe:
        raise ConfigError(f"--knn-k {knn_k} is larger than the probe set ({n_probe} training "
                          "images); lower --knn-k or raise --probe-train-samples")
    metrics = probe_encoder(model.encoder, prepared.eval, knn_k=knn_k)
    out = Path(run) if Path(run).is_dir() else Path(run).parent
    save_json(out / "probe.json", {"run": str(run), "metrics": metrics, "config": cfg.to_dict(),
                                   "epoch": payload["epoch"]})
    click.echo(f"linear probe {metrics['probe_acc']:.4f}, k-NN (k={knn_k}) {metrics['knn_acc']:.4f}"
               f" (epoch {payload['epoch']}, {cfg.model.method})")


def _finetune_config():
    from mrptheory.experiments.mae.finetune import FinetuneConfig

    return FinetuneConfig


@mae.command()
@click.argument("run", type=click.Path(exists=True))
@preset_options("mae", _finetune_config())
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=1.5e-3, show_default=True)
@click.option("--train-samples", type=int, default=10000, show_default=True,
              help="Labelled images (0: all).")
@click.option("--compare-scratch/--no-compare-scratch", default=True, show_default=True,
              help="Also train the same classifier from scratch with the same budget.")
@dataset_option()
@data_root_option
@experiment_out_option("mae")
@device_option
@progress_option
@threads_option(default=0)
def finetune(run: str, **kw) -> None:
    """Fine-tune the encoder of a pretrained RUN (and, by default, a from-scratch control)."""
    from mrptheory.config_spec import build
    from mrptheory.results import save_json
    from mrptheory.experiments.mae.finetune import finetune as run_finetune
    from mrptheory.experiments.mae.finetune import load_pretrained

    kw = with_presets(kw)
    with flags_named():
        ft = build(_finetune_config(), kw)
    epochs, compare_scratch, dataset, data_root, out_dir, device, progress, threads = (
        ft.epochs, kw["compare_scratch"], kw["dataset"], kw["data_root"], kw["out_dir"],
        kw["device"], kw["progress"], kw["threads"])
    pre_cfg, _, norm = load_pretrained(run)
    base = dataclasses.replace(pre_cfg, device=device)
    set_cpu_threads(threads)
    data = load_splits(dataset, data_root)
    root = Path(out_dir) / "mae_runs_cli"
    name = Path(run).name if Path(run).is_dir() else Path(run).parent.name
    results = {"finetune": run_finetune(data, ft, pretrained=run, base=base,
                                        run_dir=root / f"finetune-{name}-{epochs}ep",
                                        show_progress=progress)}
    if compare_scratch:
        results["scratch"] = run_finetune(data, ft, base=base, norm=norm,
                                          run_dir=root / f"scratch-{name}-{epochs}ep",
                                          show_progress=progress)
    summary = {k: {"final": r.final, "history": r.history} for k, r in results.items()}
    path = save_json(Path(out_dir) / f"mae_finetune_{name}.json",
                     {"pretrained": str(run), "budget": dataclasses.asdict(ft), "runs": summary})
    for k, r in results.items():
        click.echo(f"{k}: test accuracy {r.final['test_acc']:.4f}, probe {r.final['probe_acc']:.4f}")
    click.echo(f"wrote {path}")


@mae.command()
@click.option("--quick", is_flag=True, help="The few-minute preset (same as --preset quick).")
@click.option("--preset", type=click.Choice(["quick", "default", "gpu"]), default=None,
              help="quick: minutes on CPU; default: tens of minutes on 2 CPU cores; gpu: "
                   "full-size (whole train split, 100 epochs) [default: default].")
@click.option("--mask-ratios", default=None, help="Mask ratios, e.g. 0.5,0.75,0.9.")
@click.option("--patch-sizes", default=None, help="Patch sides, e.g. 4,7.")
@click.option("--noise-stds", default=None, help="Gaussian DAE noise levels, e.g. 0.25,0.5.")
@click.option("--seeds", default=None, help="Seeds, e.g. 0,1,2.")
@click.option("--epochs", type=int, default=None, help="Override the preset's pretraining epochs.")
@click.option("--train-samples", type=int, default=None,
              help="Override the preset's training subset (0: all).")
@click.option("--grid/--cross", default=None,
              help="Every (ratio, patch) pair, or only the cross through the reference setting.")
@dataset_option()
@data_root_option
@experiment_out_option("mae")
@device_option
@progress_option
@threads_option(default=0)
@launcher_options
def sweep(quick: bool, preset: str, mask_ratios: str | None, patch_sizes: str | None,
          noise_stds: str | None, seeds: str | None, epochs: int | None,
          train_samples: int | None, grid: bool | None, dataset: str, data_root: str | None,
          out_dir: str, device: str, progress: bool, threads: int, **launch) -> None:
    """MAE over mask ratio x patch size, AE, Gaussian DAE, scratch and fine-tuning (resumable).

    With ``--launcher submitit`` each missing point is one job (the fine-tuning and from-scratch
    points in a second wave, after the reference runs they read); every job reads the data set
    itself, from the same --data-root, and checks it is the data loaded here."""
    from mrptheory.experiments.mae.report import summary_table, write_sweep_outputs
    from mrptheory.experiments.mae.sweep import PRESETS, run_mae_sweep

    launcher = pop_launcher_options(launch)
    if quick and preset not in (None, "quick"):
        raise ConfigError(f"--quick conflicts with --preset {preset}: give one of them")
    preset = "quick" if quick else (preset or "default")
    shape, classes = dataset_shape(dataset)
    cfg = PRESETS[preset](shape, classes, device)
    changes: dict = {}
    if mask_ratios is not None:
        changes["mask_ratios"] = parse_float_list(mask_ratios, "--mask-ratios")
    if patch_sizes is not None:
        changes["patch_sizes"] = parse_int_list(patch_sizes, "--patch-sizes")
    if noise_stds is not None:
        changes["noise_stds"] = parse_float_list(noise_stds, "--noise-stds")
    if seeds is not None:
        changes["seeds"] = parse_int_list(seeds, "--seeds", minimum=0)
    if grid is not None:
        changes["grid"] = grid
    base_changes: dict = {"hflip": shape[0] == 3}
    if epochs is not None:
        base_changes["epochs"] = epochs
    if train_samples is not None:
        base_changes["train_samples"] = train_samples or None
    changes["base"] = dataclasses.replace(cfg.base, **base_changes)
    if train_samples is not None:
        changes["finetune"] = dataclasses.replace(cfg.finetune, train_samples=train_samples or None)
    cfg = dataclasses.replace(cfg, **changes)   # validates every setting before loading data
    set_cpu_threads(threads)
    data = load_splits(dataset, data_root)
    source = job_data_source(launcher, dataset, data_root, data)
    records = run_mae_sweep(data, cfg, out_dir, show_progress=progress, log=click.echo,
                            launcher=launcher, source=source)
    for path in write_sweep_outputs(records, cfg, data, out_dir, dataset=dataset):
        click.echo(f"wrote {path}")
    from mrptheory.experiments.mae.baselines import sweep_baselines

    table = summary_table(records, sweep_baselines(records, cfg, data))
    (Path(out_dir) / f"mae_summary_{cfg.name}.md").write_text(table)
    click.echo(table)
