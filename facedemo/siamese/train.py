"""Training a siamese run: one process writing one run directory, readable while it runs.

Read top to bottom: the device decides mixed precision, XLA and data parallelism
(``device.py``); the data set is split by person and decoded once into a uint8
face bank; Keras fits on freshly drawn pairs gathered by worker threads, with a
callback that logs every batch and epoch to metrics.jsonl, saves a checkpoint
each epoch, stops early when validation loss stops improving and stops cleanly
on a STOP file or SIGTERM before the next batch. After each epoch (and before the first)
the tower's outputs for a fixed, seeded handful of validation faces go to space.npz, for
the monitor to show people separating. Then the run is "testing": the
best checkpoint is scored on every distinct pair of the test people's photos, each
once (a seeded sample of ``test_pairs`` of them beyond that many; eval.json); a
stop request ends that too, and a resume then only tests. Any Keras backend trains it.

Resuming is exact because every epoch's checkpoint is committed by one atomic
write of checkpoints/state.json, which records the model files, the size the
metrics log had right then and the best-epoch and early-stopping bookkeeping: a
resumed run cuts the log back to that size (dropping any torn line and the lines
of the unfinished epoch), reloads the model with its optimizer state (step
count, moments) and continues the seeded pair stream at the next epoch's first
batch. Every epoch's other randomness is a function of (seed, epoch) alone: the
layers' dropout and mirrors and the global generators are reseeded as it begins,
and Keras keeps the batch order (the pairs are drawn at random already). So a run
stopped after epoch k and resumed trains epoch k + 1 as the uninterrupted run does.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from facedemo.errors import FaceDemoError, RunError
from facedemo.siamese import BEST_BY, TrainConfig
from facedemo.siamese.data import (
    LAYER_NOISE_STREAM,
    TRAINING_STREAM,
    DrawnPairs,
    FaceImages,
    FixedPairBatches,
    PairSampler,
    Split,
    TrainingPairs,
    all_pair_counts,
    all_pairs,
    fixed_pairs,
    gather,
    held_out,
    load_faces,
    load_split,
    seen_people_pairs,
)
from facedemo.siamese.device import (
    Device,
    backend_version,
    detect_device,
    distributed,
    peak_memory_mb,
)
from facedemo.siamese.model import (
    build_siamese,
    feature_extractor,
    reseed,
    takes_raw_pixels,
)
from facedemo.siamese.recording import SpaceRecorder
from facedemo.siamese.runs.layout import Checkpoint, PairImages, RunLayout
from facedemo.siamese.runs.lifecycle import check_resumable, create_run, dataset_source
from facedemo.siamese.runs.processes import process_start_time
from facedemo.siamese.runs.settings import has_settings, read_config, read_settings
from facedemo.siamese.runs.status import read_checkpoint, resume_would
from facedemo.siamese.runs.writer import RunWriter
from facedemo.siamese.scoring import PairScores, evaluate_model

#: Training pairs saved for the Monitor page's preview grid.
PREVIEW_PAIRS = 16

#: Misclassified test pairs saved for the Monitor page.
MISCLASSIFIED_SHOWN = 12

#: Signals that ask the run to stop after the batch under way.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequested(Exception):
    """Raised between batches when a STOP file or a stop signal asks the run to end."""


@contextlib.contextmanager
def _stop_requests(stop_file: Path) -> Iterator[Callable[[], bool]]:
    """A callable telling whether the run was asked to stop (STOP file or signal)."""
    signalled = threading.Event()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main_thread:
        for number in STOP_SIGNALS:
            previous[number] = signal.signal(number, lambda *_: signalled.set())
    try:
        yield lambda: signalled.is_set() or stop_file.exists()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _compile(
    model: keras.Model, learning_rate: float, device: Device, steps_per_execution: int = 1
) -> None:
    """Adam, binary cross-entropy, accuracy and AUC; XLA where ``device`` turns it on; Keras
    runs ``steps_per_execution`` batches per call of the compiled step."""
    optimizer = keras.optimizers.Adam(learning_rate)
    if device.policy == "mixed_float16":  # float16 gradients underflow without loss scaling
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(
        optimizer=optimizer,
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
        jit_compile=device.xla or device.backend == "jax",  # JAX always compiles its step
        steps_per_execution=steps_per_execution,
    )


def compiled_model(config: TrainConfig, device: Device) -> keras.Model:
    """A fresh network compiled for ``device``."""
    model = build_siamese(
        config.image_size, dtype_policy=device.policy, flip_probability=config.flip_probability
    )
    _compile(model, config.learning_rate, device, config.steps_per_execution)
    return model


def _resumed_model(path: Path, device: Device, steps_per_execution: int) -> keras.Model:
    """A checkpoint with its optimizer state, to train on; older runs are refused."""
    model = keras.models.load_model(path)
    if not takes_raw_pixels(model):
        raise RunError(
            f"{path.parent.parent.name} was saved by an earlier facedemo whose network takes "
            "rescaled pixels; it can still be evaluated and used on the Verify page but not "
            "trained further. Start a new run."
        )
    model.jit_compile = device.xla or device.backend == "jax"
    model.steps_per_execution = steps_per_execution
    return model


def _write_config(
    writer: RunWriter, config: TrainConfig, device: Device, split: Split | None
) -> None:
    """config.json: every setting, the device, versions and (once split) who is in which part."""
    library, version = backend_version()
    record: dict[str, Any] = {
        "settings": config.to_dict(),
        "device": device.to_dict(),
        "versions": {
            "python": platform.python_version(),
            "keras": keras.__version__,
            library: version,
            "numpy": np.__version__,
        },
    }
    if split is not None:
        parts = {
            part: {"people": list(subset.identity_names), "images": len(subset)}
            for part, subset in vars(split).items()
        }
        record["dataset"] = {"path": config.dataset, "name": split.train.root.name, "split": parts}
    writer.config(record)


def _preview(model: keras.Model, faces: FaceImages, config: TrainConfig) -> PairImages:
    """The first training pairs as the network sees them: through its own random mirror."""
    sampler = PairSampler(faces.labels, config.same_person_probability)
    pairs = sampler.sample(PREVIEW_PAIRS, (config.seed, TRAINING_STREAM, 0))
    (first, second), _ = gather(faces, pairs)
    mirror = feature_extractor(model).get_layer("random_mirror")
    seen = [keras.ops.convert_to_numpy(mirror(side, training=True)) for side in (first, second)]
    return PairImages(
        *(side.astype(np.uint8) for side in seen),
        pairs.same,
        people=faces.people(pairs.first, pairs.second),
    )


def _improves(best: Checkpoint, logs: dict[str, float], best_by: str) -> bool:
    """Whether an epoch's ``logs`` beat the best epoch so far by the run's ``best_by``."""
    before = getattr(best, f"best_{best_by}")
    if best.best_epoch is None or before is None:
        return True
    lower_is_better = BEST_BY[best_by][1]
    return logs[best_by] < before if lower_is_better else logs[best_by] > before


def _seed_epoch(model: keras.Model, seed: int, epoch: int) -> None:
    """Make epoch ``epoch``'s random draws (counted from 0) a function of (``seed``,
    ``epoch``) alone: the layers' dropout and mirrors, and Python's, numpy's and Keras'
    global generators."""
    key = (seed, LAYER_NOISE_STREAM, epoch)
    keras.utils.set_random_seed(int(np.random.default_rng(key).integers(2**31)))
    reseed(model, key)


class _RunCallback(keras.callbacks.Callback):
    """Logs batches and epochs, commits checkpoints, stops early or on request."""

    def __init__(
        self,
        config: TrainConfig,
        device: Device,
        writer: RunWriter,
        checkpoint: Checkpoint,
        stop_requested: Callable[[], bool],
        seen_people: tuple[FaceImages, DrawnPairs] | None = None,
        space: SpaceRecorder | None = None,
    ) -> None:
        super().__init__()
        self.space = space
        self.config = config
        self.device = device
        self.writer = writer
        self.checkpoint = checkpoint
        self.stop_requested = stop_requested
        self.seen_people = seen_people
        self._epoch_start = self._batch_end = time.time()

    def _seen_people_scores(self) -> dict[str, float]:
        """Loss, accuracy and AUC on pairs showing photos of training people held out of
        training (none when no photo was held out)."""
        if self.seen_people is None:
            return {}
        faces, pairs = self.seen_people
        scores = evaluate_model(self.model, faces, pairs, self.config.batch_size)
        return {
            "seen_val_loss": scores.loss,
            "seen_val_accuracy": scores.accuracy,
            "seen_val_auc": scores.auc,
        }

    def _learning_rate(self) -> float:
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def _device_memory(self) -> dict[str, float]:
        peak = peak_memory_mb(self.device)
        return {} if peak is None else {"gpu_memory_mb": peak}

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        _seed_epoch(self.model, self.config.seed, epoch)
        self._epoch_start = self._batch_end = time.time()
        self._logged_steps = 0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.stop_requested():
            raise StopRequested

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.time()
        epoch = self.checkpoint.epoch + 1
        steps, self._logged_steps = batch + 1 - self._logged_steps, batch + 1
        self.writer.log(
            {
                "kind": "batch",
                "epoch": epoch,
                "step": batch + 1,
                "time": now,
                **{name: logs[name] for name in ("loss", "accuracy", "auc")},
                "pairs_per_s": steps * self.config.batch_size / max(now - self._batch_end, 1e-9),
                "lr": self._learning_rate(),
                **self._device_memory(),
            }
        )
        self._batch_end = now

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        number, previous = epoch + 1, self.checkpoint
        pairs = self.config.batch_size * self.config.steps_per_epoch
        logs = {**logs, **self._seen_people_scores()}
        record = {
            "kind": "epoch",
            "epoch": number,
            "step": self.config.steps_per_epoch,
            "time": time.time(),
            **logs,
            "pairs_per_s": pairs / max(self._batch_end - self._epoch_start, 1e-9),
            "lr": self._learning_rate(),
            **self._device_memory(),
        }
        self.writer.log(record)
        improved = _improves(previous, logs, self.config.best_by)
        name = f"epoch-{number:04d}.keras"
        self.writer.save_model(self.model, name)
        if self.space is not None:  # before the commit: a resume drops an uncommitted epoch
            self.space.record(self.model, number)
        best = {
            "best": name,
            "best_epoch": number,
            "best_val_loss": logs["val_loss"],
            "best_val_accuracy": logs["val_accuracy"],
            "best_val_auc": logs["val_auc"],
        }
        self.checkpoint = replace(
            previous,
            epoch=number,
            log_bytes=self.writer.log_bytes(),
            last=name,
            epochs_since_best=0 if improved else previous.epochs_since_best + 1,
            **(best if improved else {}),
        )
        self.writer.commit(self.checkpoint)
        self.writer.status(epoch=number, **self.checkpoint.best_metrics())
        print(
            f"epoch {number}/{self.config.epochs}  "
            f"loss {logs['loss']:.3f}  accuracy {logs['accuracy']:.3f}  auc {logs['auc']:.3f}  |  "
            f"validation loss {logs['val_loss']:.3f}  accuracy {logs['val_accuracy']:.3f}  "
            f"auc {logs['val_auc']:.3f}  |  "
            + (f"seen people auc {logs['seen_val_auc']:.3f}  |  " if self.seen_people else "")
            + f"{record['pairs_per_s']:.0f} pairs/s"
            + ("  (best so far)" if improved else ""),
            flush=True,
        )
        if self.checkpoint.training_done(self.config):
            self.model.stop_training = True


def _write_evaluation(
    writer: RunWriter,
    scores: PairScores,
    faces: FaceImages,
    pairs: DrawnPairs,
    checkpoint: Checkpoint,
) -> None:
    """eval.json, the misclassified pictures and the metrics log's eval line."""
    shown = scores.most_wrong(MISCLASSIFIED_SHOWN)
    first, second = pairs.first[shown], pairs.second[shown]
    misclassified = [
        {
            "face_a": str(faces.dataset.paths[a]),
            "face_b": str(faces.dataset.paths[b]),
            "same": bool(scores.same[i]),
            "probability": float(scores.probability[i]),
        }
        for i, a, b in zip(shown, first, second, strict=True)
    ]
    summary = scores.to_json()
    writer.evaluation(
        {
            **summary,
            "all_pairs": all_pair_counts(faces.labels),
            "best_epoch": checkpoint.best_epoch,
            "checkpoint": checkpoint.best,
            "misclassified": misclassified,
        },
    )
    images = faces.images
    writer.misclassified(
        PairImages(
            images[first],
            images[second],
            scores.same[shown],
            scores.probability[shown],
            faces.people(first, second),
        )
    )
    paths = faces.dataset.paths
    writer.test_pairs(
        pd.DataFrame(
            {
                "file_x": [str(paths[a]) for a in pairs.first],
                "file_y": [str(paths[b]) for b in pairs.second],
                "decision": np.where(scores.same, "Yes", "No"),
                "probability": scores.probability,
            }
        )
    )
    logged = {name: summary[name] for name in ("loss", "accuracy", "auc", "pairs")}
    writer.log({"kind": "eval", "epoch": checkpoint.best_epoch, "time": time.time(), **logged})
    auc = "-" if scores.auc is None else f"{scores.auc:.3f}"
    print(
        f"test  accuracy {scores.accuracy:.3f}  auc {auc}  "
        f"(best epoch {checkpoint.best_epoch}, {len(pairs)} pairs)",
        flush=True,
    )


def _fit(
    config: TrainConfig,
    writer: RunWriter,
    stop_requested: Callable[[], bool],
    checkpoint: Checkpoint,
) -> None:
    """Everything between "running" and "finished" (see the module docstring)."""
    layout = writer.layout
    device = detect_device(config.devices, config.batch_size)
    # The first weights drawn from the run's seed; each epoch reseeds the rest (_seed_epoch).
    keras.utils.set_random_seed(config.seed)
    recorded = read_config(layout.run_dir) if has_settings(layout.run_dir) else {}
    if not recorded:
        _write_config(writer, config, device, split=None)  # settings first, for the page
    split = load_split(config)
    if "dataset" not in recorded:
        _write_config(writer, config, device, split)
    training_people, validation_faces = (
        load_faces(part, config.image_size, config.framing)
        for part in (split.train, split.validation)
    )
    p_same = config.same_person_probability
    validation_pairs = fixed_pairs(validation_faces, config.validation_pairs, config.seed, p_same)
    held = held_out(training_people, config.held_out_photos, config.seed)
    train_faces = training_people.subset(np.flatnonzero(~held))
    seen_people = None
    if held.any():
        pairs = seen_people_pairs(
            training_people, held, config.validation_pairs, config.seed, p_same
        )
        seen_people = (training_people, pairs)
    aside = f", and {int(held.sum())} kept aside for 'seen people'" if held.any() else ""
    where = (
        f"training is over (epoch {checkpoint.best_epoch} kept), so it is tested again"
        if checkpoint.training_done(config)
        else f"epoch {checkpoint.epoch + 1} of {config.epochs}"
    )
    print(
        f"Training {layout.run_dir.name} on {device.label}: "
        f"{len(split.train.identity_names)} people ({len(train_faces)} photos{aside}) to learn "
        f"from, {len(split.validation.identity_names)} to validate on; {where}.",
        flush=True,
    )
    space = SpaceRecorder(writer, validation_faces, config)
    callback = _RunCallback(config, device, writer, checkpoint, stop_requested, seen_people, space)
    with distributed(device):
        if checkpoint.last:
            model = _resumed_model(
                layout.checkpoint(checkpoint.last), device, config.steps_per_execution
            )
        else:
            model = compiled_model(config, device)
        if not layout.preview.exists():  # a resumed run keeps the first one
            writer.preview(_preview(model, train_faces, config))
        if not checkpoint.training_done(config):
            space.start(model, checkpoint.epoch)
            model.fit(
                TrainingPairs(
                    train_faces,
                    config.batch_size,
                    config.steps_per_epoch,
                    config.seed,
                    p_same,
                    first_epoch=checkpoint.epoch,
                ),
                epochs=config.epochs,
                initial_epoch=checkpoint.epoch,
                steps_per_epoch=config.steps_per_epoch,
                validation_data=FixedPairBatches(
                    validation_faces, validation_pairs, config.batch_size
                ),
                callbacks=[callback],
                shuffle=False,  # Keras would shuffle by Python's generator, not the run's seed
                verbose=0,
            )
    best = callback.checkpoint
    writer.status(state="testing")
    test_faces = load_faces(split.test, config.image_size, config.framing)
    test_pairs = all_pairs(split.test, config.test_pairs, config.seed, p_same)
    print(f"Testing epoch {best.best_epoch} on {len(test_pairs)} test pairs.", flush=True)
    best_model = keras.models.load_model(layout.checkpoint(best.best), compile=False)
    scores = evaluate_model(
        best_model,
        test_faces,
        test_pairs,
        config.batch_size,
        callbacks=[_StopTesting(stop_requested)],
    )
    _write_evaluation(writer, scores, test_faces, test_pairs, best)


class _StopTesting(keras.callbacks.Callback):
    """Answers a stop request between test batches; a resume then tests again."""

    def __init__(self, stop_requested: Callable[[], bool]) -> None:
        super().__init__()
        self.stop_requested = stop_requested

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.stop_requested():
            raise StopRequested


def _run(config: TrainConfig, layout: RunLayout, resuming: bool) -> str:
    """Run training under a status that always ends finished, stopped or failed."""
    started = time.time()
    writer = RunWriter(layout)
    checkpoint = Checkpoint()
    if resuming:  # from the last committed epoch, without the log lines that came after it
        checkpoint = read_checkpoint(layout.run_dir)
        writer.cut_log_back(checkpoint.log_bytes)
    writer.status(
        state="testing" if checkpoint.training_done(config) else "running",
        pid=os.getpid(),
        process_start=process_start_time(os.getpid()),
        started=started,
        epoch=checkpoint.epoch,
        error=None,
        **checkpoint.best_metrics(),
    )
    with _stop_requests(layout.stop) as stop_requested:
        try:
            _fit(config, writer, stop_requested, checkpoint)
            state = "finished"
        except StopRequested:
            state = "stopped"
            print(f"Stopped on request; {resume_would(layout.run_dir, config)}.", flush=True)
        except Exception as error:
            known = isinstance(error, FaceDemoError)
            writer.status(state="failed", error=str(error) if known else repr(error))
            raise
    writer.status(state=state)
    return state


def train(config: TrainConfig, runs_dir: str | Path) -> str:
    """Train ``config`` as the run ``runs_dir/<run_id>``; returns its final state.

    From a terminal the run is created here (``create_run``, the devices asked for here);
    started by ``runs.start_run``, its folder was created there and holds nothing of the
    trainer's yet.
    """
    run_dir = Path(runs_dir) / config.run_id
    if run_dir.exists() and not has_settings(run_dir):
        config = replace(config, dataset=dataset_source(config.dataset))
    else:
        config, run_dir = create_run(config, runs_dir, devices_check=_detect_devices)
    return _run(config, RunLayout(run_dir), resuming=False)


def _detect_devices(config: TrainConfig) -> Device:
    """The devices ``config`` trains on, asked here where Keras is loaded anyway."""
    return detect_device(config.devices, config.batch_size)


def resume(run_dir: Path) -> str:
    """Continue a stopped, failed or interrupted run from its last checkpoint; its final state.

    Asked for here (a terminal), an earlier stop request is answered and dropped. Started by
    ``runs.resume_run`` (the run reads as queued with this process), the request was dropped
    there, and any STOP file now is a request made while queued: it stands.
    """
    status = check_resumable(run_dir, launched_pid=os.getpid())
    if not status.alive:
        RunWriter(RunLayout(run_dir)).withdraw_stop()
    return _run(read_settings(run_dir), RunLayout(run_dir), resuming=True)
