"""Live video: every face of every camera frame boxed with a verdict, cheaply enough for 2 cores.

Frames come in as RGB uint8 arrays (the page turns the camera's frames into arrays; this
module knows nothing of WebRTC or Streamlit) and go out as boxes with labels, and drawn on
the frame as the picture the student sees. What keeps it cheap:

- detection runs on the frame shrunk to ``DETECTION_SIDE`` pixels (``faces.detect_frame``);
- each face is followed from frame to frame by its box (a *track*) and embedded only when
  it is new, when its aligned face looks different from the one last embedded, or every
  ``REFRESH_FRAMES`` frames; in between it keeps its last label;
- the reference embedding is computed once, by the page, and only compared with here.

Labels come from a *judge*: a function from a stack of embeddings to one :class:`Label`
each. Verify mode judges every face against one reference photo (:func:`verify_settings`);
identify mode can plug in a judge that names the closest person of a gallery, and nothing
else changes.

Threads: :class:`LiveAnalyser` runs a :class:`FrameProcessor` on a thread of its own on the
newest frame, while the camera's thread only draws the latest answer on each frame, so the
video keeps the camera's frame rate whatever the models cost; :class:`EmbeddingProcess`
moves the embeddings to a child process, where dlib's network cannot hold up the video.
Settings (engine, judge) are swapped whole, under a lock, with
:meth:`FrameProcessor.configure`; the model calls themselves are serialised by facedemo.faces'
locks, and by the child process handling one call at a time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from facedemo import faces, identify
from facedemo.datasets import display_name
from facedemo.errors import FaceDemoError

logger = logging.getLogger(__name__)

#: Long side, in pixels, of the copy of a frame the detector sees. Measured on 640×480
#: frames of the demo photos (2 cores): opencv takes 25 ms at 320 against 60 ms at 640 and
#: finds the same faces while a face is at least a sixth of the frame high.
DETECTION_SIDE = 320

#: A face that did not change is embedded again after this many analysed frames.
REFRESH_FRAMES = 5

#: A face whose aligned crop changed is embedded again, at most every this many frames.
CHANGED_FACE_FRAMES = 2

#: How different two aligned crops must look (mean absolute difference of normalised
#: 16×16 grey thumbnails) to count as a changed face. Measured on clips of the demo photos:
#: one face swaying by a few pixels scores 0.01-0.08, another person in its place 0.87.
CHANGE_THRESHOLD = 0.3

#: Overlap (intersection over union) for a box to continue a track of the last frame.
TRACK_OVERLAP = 0.3

#: The analysis thread ends after this many seconds without a frame (the next one restarts it).
IDLE_SECONDS = 10.0

#: Rates are measured over this many recent seconds.
RATE_WINDOW_SECONDS = 3.0

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Label:
    """What a judge says of one face: the text on its box, green or not, and the distance."""

    text: str
    match: bool
    distance: float | None = None


#: Embeddings (one row per face) in, one label per row out.
Judge = Callable[[np.ndarray], Sequence[Label]]

#: Aligned face crops and a model name in, one embedding per row out (``faces.embed``'s shape).
Embedder = Callable[[Sequence[np.ndarray], str], np.ndarray]


@dataclass(frozen=True)
class LiveSettings:
    """Everything the labels depend on; a settings with another ``key`` forgets every label."""

    engine: faces.Engine
    judge: Judge = field(compare=False, repr=False)
    key: str


@dataclass(frozen=True)
class ReferenceJudge:
    """Verify mode: every face against one reference embedding (same if distance ≤ threshold)."""

    reference: np.ndarray = field(repr=False)
    metric: str
    threshold: float

    def __call__(self, embeddings: np.ndarray) -> list[Label]:
        references = np.broadcast_to(self.reference, embeddings.shape)
        found = faces.distances(embeddings, references, self.metric)
        return [
            Label(
                "Same person" if d <= self.threshold else "Different person",
                bool(d <= self.threshold),
                float(d),
            )
            for d in found
        ]


def verify_settings(engine: faces.Engine, reference: np.ndarray, threshold: float) -> LiveSettings:
    """Live settings that verify every face against ``reference`` (one embedding by ``engine``)."""
    reference = np.asarray(reference, dtype=np.float32).reshape(-1)
    digest = hashlib.blake2b(reference.tobytes(), digest_size=8).hexdigest()
    judge = ReferenceJudge(reference, engine.metric, float(threshold))
    return LiveSettings(engine, judge, f"verify|{engine.label}|{threshold!r}|{digest}")


@dataclass(frozen=True)
class GalleryJudge:
    """Identify mode: every face named after the closest person of a gallery, or "unknown"
    when nobody is within the threshold."""

    gallery: identify.Gallery = field(repr=False)
    metric: str
    threshold: float

    def __call__(self, embeddings: np.ndarray) -> list[Label]:
        labels = []
        for embedding in embeddings:
            best = identify.search(embedding, self.gallery, self.metric, self.threshold, top=1)[0]
            name = display_name(best.identity) if best.matches else identify.UNKNOWN
            labels.append(Label(name, best.matches, best.distance))
        return labels


def identify_settings(
    engine: faces.Engine, gallery: identify.Gallery, threshold: float
) -> LiveSettings:
    """Live settings that name every face after the closest person of ``gallery``."""
    judge = GalleryJudge(gallery, engine.metric, float(threshold))
    key = f"identify|{engine.label}|{threshold!r}|{gallery.name}|{len(gallery.paths)}"
    return LiveSettings(engine, judge, key)


@dataclass(frozen=True)
class LiveFace:
    """One face of an analysed frame: its box in the frame, its label, embedded on this frame?"""

    box: Box
    label: Label
    fresh: bool


@dataclass(frozen=True)
class LiveFrame:
    """The answer for one analysed frame."""

    number: int  # analysed frames since the processor started, from 1
    faces: tuple[LiveFace, ...]
    embedded: int  # faces embedded on this frame (the others kept their label)
    seconds: float


@dataclass
class _Track:
    box: Box
    label: Label
    thumbnail: np.ndarray
    embedded_at: int


def _overlap(first: Box, second: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    width = min(first[0] + first[2], second[0] + second[2]) - max(first[0], second[0])
    height = min(first[1] + first[3], second[1] + second[3]) - max(first[1], second[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (first[2] * first[3] + second[2] * second[3] - inter)


def _thumbnail(crop: np.ndarray) -> np.ndarray:
    """A 16×16 grey copy of an aligned face, normalised to mean 0 and deviation 1."""
    grey = cv2.resize(
        cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (16, 16), interpolation=cv2.INTER_AREA
    )
    grey = grey.astype(np.float32)
    return (grey - grey.mean()) / (grey.std() + 1e-6)


def face_change(first: np.ndarray, second: np.ndarray) -> float:
    """How different two aligned face crops look (0 = the same picture)."""
    return _thumbnail_change(_thumbnail(first), _thumbnail(second))


def _thumbnail_change(first: np.ndarray, second: np.ndarray) -> float:
    """How different two face thumbnails look: the mean absolute difference of their pixels."""
    return float(np.abs(first - second).mean())


class FrameProcessor:
    """Detects, follows and judges the faces of successive frames of one video.

    Calls to :meth:`process` are serialised (one video, one order of frames);
    :meth:`configure` may be called from any thread at any time.
    """

    def __init__(
        self,
        settings: LiveSettings,
        embedder: Embedder | None = None,
    ) -> None:
        self.embedder = embedder  # None: faces.embed in this process
        self._settings = settings
        self._settings_lock = threading.Lock()
        self._process_lock = threading.Lock()
        self._tracks: list[_Track] = []
        self._tracks_key = settings.key
        self._number = 0

    @property
    def settings(self) -> LiveSettings:
        with self._settings_lock:
            return self._settings

    def configure(self, settings: LiveSettings) -> None:
        """Use ``settings`` from the next frame on (labels are kept if its key is the same)."""
        with self._settings_lock:
            self._settings = settings

    def process(self, frame: np.ndarray) -> LiveFrame:
        """Boxes and labels of every face of ``frame`` (RGB uint8), largest face first."""
        started = time.perf_counter()
        settings = self.settings
        engine = replace(settings.engine, max_side=DETECTION_SIDE)
        with self._process_lock:
            if settings.key != self._tracks_key:
                self._tracks, self._tracks_key = [], settings.key
            self._number += 1
            number = self._number
            found = faces.detect_frame(frame, engine)
            unclaimed = list(self._tracks)
            matched: list[_Track | None] = []
            for face in found:
                track = max(unclaimed, key=lambda t: _overlap(t.box, face.box), default=None)
                if track is not None and _overlap(track.box, face.box) >= TRACK_OVERLAP:
                    unclaimed.remove(track)
                    matched.append(track)
                else:
                    matched.append(None)
            thumbnails = [_thumbnail(face.crop) for face in found]
            stale = [
                index
                for index, track in enumerate(matched)
                if track is None or self._needs_embedding(track, thumbnails[index], number)
            ]
            labels: dict[int, Label] = {}
            if stale:
                embed = self.embedder or faces.embed
                vectors = embed([found[i].crop for i in stale], engine.model)
                labels = dict(zip(stale, settings.judge(vectors), strict=True))
            self._tracks = []
            live_faces = []
            for index, (face, track) in enumerate(zip(found, matched, strict=True)):
                if index in labels:
                    track = _Track(face.box, labels[index], thumbnails[index], number)
                else:
                    track.box = face.box
                self._tracks.append(track)
                live_faces.append(LiveFace(face.box, track.label, fresh=index in labels))
        return LiveFrame(number, tuple(live_faces), len(stale), time.perf_counter() - started)

    def _needs_embedding(self, track: _Track, thumbnail: np.ndarray, number: int) -> bool:
        age = number - track.embedded_at
        if age >= REFRESH_FRAMES:
            return True
        changed = _thumbnail_change(thumbnail, track.thumbnail) > CHANGE_THRESHOLD
        return changed and age >= CHANGED_FACE_FRAMES


@dataclass(frozen=True)
class LiveRates:
    """Recent speeds, per second: camera frames in, frames analysed, labels shown, embeddings."""

    frames_in: float
    frames_analysed: float
    verdicts: float
    embeddings: float


class LiveAnalyser:
    """Analyses the newest frame on a thread of its own; every frame is drawn at once.

    :meth:`annotate` is what a camera's frame callback calls: it hands the frame over
    (replacing one not yet started, so the analysis never falls behind) and returns it
    with the latest answer drawn, without waiting for any model.
    """

    def __init__(self, processor: FrameProcessor) -> None:
        self.processor = processor
        self._condition = threading.Condition()
        self._pending: np.ndarray | None = None
        self._latest: LiveFrame | None = None
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._arrivals: deque[float] = deque(maxlen=600)
        self._analysed: deque[tuple[float, int, int]] = deque(maxlen=600)

    @property
    def latest(self) -> LiveFrame | None:
        """The answer for the most recently analysed frame (None before the first)."""
        with self._condition:
            return self._latest

    @property
    def error(self) -> str | None:
        """The sentence of the last error the analysis met (None once a frame succeeds)."""
        with self._condition:
            return self._error

    def submit(self, frame: np.ndarray) -> None:
        """Hand ``frame`` to the analysis thread (starting it if needed); never waits."""
        with self._condition:
            self._pending = frame
            self._arrivals.append(time.monotonic())
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="facedemo-live-analysis", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def annotate(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` with the latest boxes and labels drawn on it (after submitting it)."""
        from facedemo.drawing import draw_live_faces

        self.submit(frame)
        latest = self.latest
        return draw_live_faces(frame, latest.faces if latest else ())

    def rates(self) -> LiveRates:
        """Speeds over the last ``RATE_WINDOW_SECONDS``."""
        since = time.monotonic() - RATE_WINDOW_SECONDS
        with self._condition:
            arrivals = sum(1 for moment in self._arrivals if moment >= since)
            recent = [(v, e) for moment, v, e in self._analysed if moment >= since]
        window = RATE_WINDOW_SECONDS
        return LiveRates(
            frames_in=arrivals / window,
            frames_analysed=len(recent) / window,
            verdicts=sum(1 for verdicts, _ in recent if verdicts) / window,
            embeddings=sum(embedded for _, embedded in recent) / window,
        )

    def _run(self) -> None:
        while True:
            with self._condition:
                if self._pending is None:
                    self._condition.wait(timeout=IDLE_SECONDS)
                if self._pending is None:
                    self._thread = None
                    return
                frame, self._pending = self._pending, None
            try:
                result = self.processor.process(frame)
            except FaceDemoError as error:
                with self._condition:
                    self._error = str(error)
                continue
            except Exception:  # a bug: keep the video going and say so on the page
                logger.exception("live analysis failed")
                with self._condition:
                    self._error = "The live analysis failed; see the server log."
                continue
            with self._condition:
                self._latest, self._error = result, None
                verdicts = len(result.faces)
                self._analysed.append((time.monotonic(), verdicts, result.embedded))


class EmbeddingProcess:
    """``faces.embed`` in a child process of its own, for live video.

    dlib's network keeps Python's global lock for the whole of its ~100 ms forward pass,
    so in this process every embedding would freeze the threads that carry the video
    (measured: the boxed video's longest gap between frames 260 ms instead of 110). In a
    child it runs on the other core while this process goes on. The child starts on the
    first call (TensorFlow and the model load there: a few seconds), serves every session
    one call at a time, and ends with this process; if it dies, the next call starts another.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process = None
        self._connection = None

    def __call__(self, crops: Sequence[np.ndarray], model: str) -> np.ndarray:
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._start()
            try:
                self._connection.send((model, [np.ascontiguousarray(crop) for crop in crops]))
                succeeded, answer = self._connection.recv()
            except (EOFError, OSError):  # the child died: say so, the next call starts another
                self._process = None
                raise RuntimeError("The embedding process ended unexpectedly.") from None
        if not succeeded:
            raise answer
        return answer

    def _start(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no copy of this process's threads
        self._connection, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve_embeddings, args=(child_end,), name="facedemo-embeddings", daemon=True
        )
        self._process.start()
        child_end.close()

    def close(self) -> None:
        """End the child process (the next call starts a new one)."""
        with self._lock:
            if self._process is not None:
                self._connection.close()
                self._process.join(timeout=10)
                self._process = None


_shared_process = EmbeddingProcess()


def shared_embedding_process() -> EmbeddingProcess:
    """The one embedding process of this server, which every session's live video shares."""
    return _shared_process


def _serve_embeddings(connection) -> None:
    """The child's loop: (model, crops) in, (True, embeddings) or (False, error) out."""
    while True:
        try:
            model, crops = connection.recv()
        except EOFError:
            return
        try:
            connection.send((True, faces.embed(crops, model)))
        except FaceDemoError as error:
            connection.send((False, error))


def webrtc_host_addresses() -> list[str]:
    """This machine's addresses a WebRTC peer could use, loopback excluded as browsers and
    aiortc both exclude it: none means a camera stream cannot connect here (no network up)."""
    from aioice.ice import get_host_addresses

    return get_host_addresses(use_ipv4=True, use_ipv6=True)
