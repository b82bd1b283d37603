"""Where a run trains: the Keras backend, its devices, and what they turn on.

The device decides, per backend: on a GPU, mixed precision (the policy measured
fastest for that backend on an H100; the final sigmoid stays float32) and XLA
where the backend has it; on the CPU, float32. More than one device trains data
parallel through the backend's own engine: ``keras.distribution.DataParallel``
under JAX, ``tf.distribute.MirroredStrategy`` under TensorFlow (on a CPU-only
machine over logical CPU devices, so the same path is tested without a GPU).
PyTorch under Keras has no built-in data parallelism in ``fit``: it trains on one.

Only the active backend's library is imported, and only when asked.

``python -m facedemo.siamese.device DEVICES [BATCH_SIZE]`` says what a run would
train on here, or why it cannot (exit status ``DEVICES_REFUSED``): the launcher
asks it before it starts a run, so that the server never loads a backend.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import keras

from facedemo.errors import SettingError
from facedemo.siamese import DEVICES_REFUSED, parse_devices

#: Mixed precision per backend on a GPU, measured on one H100 with the notebook's network at
#: 250 px, batch 400: JAX float16 10,700 pairs/s (bfloat16 9,000, float32 8,300); PyTorch
#: bfloat16 6,000; TensorFlow float16 (its loss scaling is mature, bfloat16 was not measured).
GPU_POLICIES = {"jax": "mixed_float16", "tensorflow": "mixed_float16", "torch": "mixed_bfloat16"}

#: TensorFlow without a GPU splits the CPU into up to this many logical devices, to try data
#: parallel training (it shares the same cores, so it is never faster).
LOGICAL_CPU_DEVICES = 8

#: Backends whose compiler Keras can use for the train step (``jit_compile``).
XLA_BACKENDS = frozenset({"jax", "tensorflow"})


@dataclass(frozen=True)
class Device:
    """What a run trains on and what that turns on."""

    backend: str
    kind: str  # "GPU" or "CPU"
    name: str
    count: int  # devices trained on together (data parallel when above 1)
    memory_mb: float | None  # of one GPU; None on the CPU
    policy: str  # Keras dtype policy
    xla: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        """For people: "2 × NVIDIA H100 (80 GB), jax, mixed_float16, XLA"."""
        count = f"{self.count} × " if self.count > 1 else ""
        memory = f" ({self.memory_mb / 1024:.0f} GB)" if self.memory_mb else ""
        xla = ", XLA" if self.xla else ""
        return f"{count}{self.name}{memory}, {self.backend}, {self.policy}{xla}"


def backend() -> str:
    """The Keras backend in use (``KERAS_BACKEND``: tensorflow, jax or torch)."""
    return keras.backend.backend()


def backend_version() -> tuple[str, str]:
    """The backend library's name and version, for config.json."""
    name = backend()
    if name == "jax":
        import jax

        return "jax", jax.__version__
    if name == "torch":
        import torch

        return "torch", torch.__version__
    import tensorflow as tf

    return "tensorflow", tf.__version__


def _gpus() -> list[tuple[str, float | None]]:
    """(name, memory in MB) of every GPU the backend sees."""
    name = backend()
    if name == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        stats = [(d.memory_stats() or {}).get("bytes_limit") for d in gpus]
        return [(d.device_kind, b / 2**20 if b else None) for d, b in zip(gpus, stats, strict=True)]
    if name == "torch":
        import torch

        if not torch.cuda.is_available():
            return []
        properties = [torch.cuda.get_device_properties(i) for i in range(torch.cuda.device_count())]
        return [(p.name, p.total_memory / 2**20) for p in properties]
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        found.append((details.get("device_name", gpu.name), None))
    return found


def _cpu_devices() -> int:
    """CPU devices the backend offers (JAX: more with an XLA_FLAGS host device count)."""
    if backend() == "jax":
        import jax

        return len(jax.devices("cpu"))
    return 1


def detect_device(devices: str = "1", batch_size: int | None = None) -> Device:
    """The device a run trains on: every GPU asked for (``devices``: "all" or a count), or the
    CPU; mixed precision and XLA on a GPU. Asking for more devices than there are, or a batch
    that does not split evenly between them, is a SettingError."""
    name, wanted = backend(), parse_devices(devices)
    gpus = _gpus()
    available = len(gpus) if gpus else _cpu_devices()
    split_cpu = name == "tensorflow" and not gpus and bool(wanted)
    if split_cpu:
        available = max(available, min(wanted, LOGICAL_CPU_DEVICES))
    count = available if wanted is None else wanted
    if count > available and split_cpu:
        raise SettingError(
            f"{count:,} devices were asked for, but tensorflow splits a CPU into "
            f"{LOGICAL_CPU_DEVICES} devices at most (they share its cores)."
        )
    if count > available:
        where = ("GPU" if gpus else "CPU device") + ("s" if available > 1 else "")
        raise SettingError(
            f"{count:,} devices were asked for, but {name} sees only {available} {where} here."
        )
    if count > 1 and name == "torch":
        raise SettingError(
            "Keras trains on one device under PyTorch; for several, use KERAS_BACKEND=jax "
            "or tensorflow."
        )
    if batch_size is not None and batch_size % count:
        raise SettingError(
            f"A batch of {batch_size} pairs cannot be shared evenly between {count} devices: "
            f"ask for a number of devices that divides {batch_size}, or use a batch size "
            f"divisible by {count}."
        )
    if gpus:
        gpu_name, memory = gpus[0]
        return Device(
            name, "GPU", gpu_name, count, memory, GPU_POLICIES[name], name in XLA_BACKENDS
        )
    cpu = platform.processor() or platform.machine()
    return Device(name, "CPU", f"{cpu} ({os.cpu_count()} cores)", count, None, "float32", False)


@contextlib.contextmanager
def distributed(device: Device) -> Iterator[None]:
    """Build, load and compile models inside this to train them on all of ``device``'s devices.

    One device: nothing changes. Several: JAX shards every batch between them
    (``keras.distribution.DataParallel``); TensorFlow mirrors the model on each
    (``tf.distribute.MirroredStrategy``).
    """
    if device.count == 1:
        yield
        return
    if device.backend == "jax":
        kind = "gpu" if device.kind == "GPU" else "cpu"
        chosen = keras.distribution.list_devices(kind)[: device.count]
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=chosen))
        try:
            yield
        finally:
            keras.distribution.set_distribution(previous)
        return
    import tensorflow as tf

    kind = device.kind
    if kind == "CPU":
        cpu = tf.config.list_physical_devices("CPU")[0]
        logical = [tf.config.LogicalDeviceConfiguration() for _ in range(device.count)]
        with contextlib.suppress(RuntimeError):  # TensorFlow already started: keep its devices
            tf.config.set_logical_device_configuration(cpu, logical)
    names = [d.name for d in tf.config.list_logical_devices(kind)[: device.count]]
    if len(names) < device.count:
        raise SettingError(
            f"TensorFlow had already started with {len(names)} {kind} devices; start a new "
            f"process to train on {device.count}."
        )
    with tf.distribute.MirroredStrategy(names).scope():
        yield


def peak_memory_mb(device: Device) -> float | None:
    """The most memory the run has held on its (first) GPU so far; None on the CPU."""
    if device.kind != "GPU":
        return None
    if device.backend == "jax":
        import jax

        stats = jax.devices("gpu")[0].memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
        return peak / 2**20 if peak is not None else None
    if device.backend == "torch":
        import torch

        return torch.cuda.max_memory_allocated(0) / 2**20
    import tensorflow as tf

    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def main(arguments: list[str]) -> int:
    """``DEVICES [BATCH_SIZE]`` → prints the device a run would train on (status 0), or the
    sentence saying why it cannot (status ``DEVICES_REFUSED``)."""
    batch_size = int(arguments[1]) if len(arguments) > 1 else None
    try:
        device = detect_device(arguments[0], batch_size)
    except SettingError as error:
        print(error)
        return DEVICES_REFUSED
    print(device.label)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
