"""Where a data set's photos are detected and embedded: here, on local cores, or on Dask.

One function, :func:`embed_batch`, turns a batch of photos (content hash, file bytes)
into outcomes (the row to store, the vector if any, the photo's quality measures: see
:mod:`facedemo.quality.measures`); a photo whose vector the store already holds is sent
to be measured only (detected again, not embedded). The embedding store runs it in its
own process, on joblib's loky workers (``jobs`` > 1) or on a Dask cluster (a scheduler
address). Photos travel as bytes, so workers need no shared disk; outcomes come back
as each batch finishes, in any order, and the store (the caller) writes them: workers
never touch the SQLite file. Models load once per worker process (``faces`` keeps them)
and stay loaded while the pool or the cluster lives: loky keeps its workers between
calls (idle ones leave after 300 s), Dask's live as long as the cluster.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facedemo import faces, images
from facedemo.errors import ImageError, SettingError, WeightsUnavailableError
from facedemo.quality import measures

if TYPE_CHECKING:
    from distributed import Client, Future  # imported on demand: only a cluster needs them

#: Seconds to wait for a Dask scheduler to answer before saying it is not there.
CONNECT_TIMEOUT = 5.0

#: Seconds a Dask cluster may go without a single worker before embedding on it stops.
#: Its scheduler keeps the photos until a worker joins, so without this limit a cluster
#: with none (never started, or all gone mid-set) would keep the caller waiting forever.
NO_WORKER_WAIT = 30.0

#: A photo sent to a worker: its content hash (the key the caller knows it by), its file
#: bytes or the sentence saying why the file could not be read (answered without a model),
#: and whether it wants a vector (False: the store has it; detect and measure only).
Photo = tuple[str, bytes | str, bool]

#: Outcomes of one batch by the content hash each photo was sent under.
Outcomes = dict[str, "Outcome"]


@dataclass(frozen=True)
class Outcome:
    """What computing one image gave: the row to store and this call's answer."""

    kind: str  # a row kind, or "" for a file that could not be read (not stored)
    digest: str  # hash of the bytes actually decoded
    failure: str = ""
    vector: np.ndarray | None = None
    # The face's quality measures by name (NaN where unmeasurable); None without a face
    # to measure (no face under enforce_detection, unreadable).
    measures: dict[str, float] | None = None

    @property
    def answer(self) -> np.ndarray | str:
        """The embedding, or the sentence why the image has none."""
        return self.vector if self.vector is not None else self.failure


def content_hash(data: bytes) -> str:
    """The key of an image's content: a 128-bit BLAKE2b digest of its file bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _detect(
    data: bytes | str, engine: faces.Engine, enforce_detection: bool
) -> tuple[Outcome, np.ndarray | None]:
    """The outcome of finding the largest face in one photo's bytes, and the crop to embed.

    The bytes are hashed again here, so a file changed since the caller first hashed it
    is stored under the content actually decoded, never under the old key.
    """
    if isinstance(data, str):  # the file was gone or unreadable: reported, not stored
        return Outcome("", "", data), None
    digest = content_hash(data)
    try:
        image = images.load_image(data)  # unnamed: the stored sentence fits every copy
    except ImageError as error:
        return Outcome("unreadable", digest, str(error)), None
    # One detector pass either way: without a face it answers with the whole photo.
    largest = faces.detect(image, engine, enforce_detection=False)[0]
    if not largest.whole_photo or engine.detector == "skip":  # "skip": the photo is the face
        return Outcome("face", digest, measures=_measured(image, largest)), largest.crop
    if enforce_detection:
        return Outcome("no_face", digest, faces.NO_FACE), None
    # The whole photo stands in: its crop is measured, landmarks in it would mean nothing.
    stand_in = measures.measure_face(replace(largest, landmarks=None))
    return Outcome("whole_photo", digest, faces.NO_FACE, measures=stand_in), largest.crop


def _measured(image: np.ndarray, face: faces.Face) -> dict[str, float]:
    """``face``'s quality measures; its landmarks found on its box when its crop did not
    need them (about 1 ms), left NaN when dlib's landmark model is not installed."""
    try:
        points = faces.landmarks(image, face)
    except WeightsUnavailableError:
        points = None
    return measures.measure_face(face, points)


def embed_batch(photos: Sequence[Photo], engine: faces.Engine, enforce_detection: bool) -> Outcomes:
    """Detect and measure each photo, then embed the crops of those that want a vector in
    one model call (module level: picklable)."""
    detected = {key: _detect(data, engine, enforce_detection) for key, data, _ in photos}
    wanted = {key for key, _, wants_vector in photos if wants_vector}
    with_crop = [key for key, (_, crop) in detected.items() if crop is not None and key in wanted]
    vectors = faces.embed([detected[key][1] for key in with_crop], engine.model)
    outcomes = {key: outcome for key, (outcome, _) in detected.items()}
    for key, vector in zip(with_crop, vectors, strict=True):
        outcomes[key] = replace(outcomes[key], vector=vector)
    return outcomes


def embed_batch_alone(
    photos: Sequence[Photo], engine: faces.Engine, enforce_detection: bool
) -> Outcomes:
    """``embed_batch`` in a worker process that shares the machine with others: OpenCV's
    own thread pool held to one thread, so N workers on N cores do not fight over them."""
    import cv2

    cv2.setNumThreads(1)
    return embed_batch(photos, engine, enforce_detection)


def embed_batch_on_cluster(
    photos: Sequence[Photo], engine: faces.Engine, enforce_detection: bool, fingerprint: str
) -> Outcomes:
    """``embed_batch_alone`` on a Dask worker once it is seen to run the caller's code
    (``fingerprint``): :func:`check_workers` sees only the workers there at the start, and one
    that joins later (a dead worker's replacement) may run another copy of facedemo."""
    if code_fingerprint() != fingerprint:
        raise SettingError(
            f"The Dask worker on {socket.gethostname()} runs other facedemo code than the "
            "caller, so its vectors could differ from the store's; the photos embedded so far "
            "are kept. Bring its checkout to the caller's, restart it and run again."
        )
    return embed_batch_alone(photos, engine, enforce_detection)


def on_local_cores(
    batches: Iterable[Sequence[Photo]], engine: faces.Engine, enforce_detection: bool, jobs: int
) -> Iterator[Outcomes]:
    """Each batch's outcomes as it finishes on a pool of ``jobs`` loky processes.

    joblib reads ``batches`` lazily (a few per worker ahead), so a large set's bytes
    are never all in memory; the pool is loky's reusable one, kept warm between calls.
    """
    import joblib

    parallel = joblib.Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(
        joblib.delayed(embed_batch_alone)(batch, engine, enforce_detection) for batch in batches
    )


def on_dask(
    batches: Iterable[Sequence[Photo]],
    engine: faces.Engine,
    enforce_detection: bool,
    scheduler: str,
) -> Iterator[Outcomes]:
    """Each batch's outcomes as it finishes on the Dask cluster at ``scheduler``.

    At most two batches per worker thread are in flight, so a large set is read as the
    cluster keeps up. A worker that dies takes its batches with it; the scheduler runs
    them again on another worker, and each comes back here once. A cluster left with no
    worker for :data:`NO_WORKER_WAIT` seconds is a SettingError; the batches already
    yielded are the caller's to keep.
    """
    from distributed import wait

    client = connect(scheduler)
    try:
        check_workers(client, scheduler)
        own = code_fingerprint()  # each batch checks it again on the worker that runs it
        pending = iter(batches)

        def submit(batch: Sequence[Photo]) -> Future:
            return client.submit(
                embed_batch_on_cluster, batch, engine, enforce_detection, own, pure=False
            )

        window = 2 * max(1, sum(client.nthreads().values()))
        in_flight = {submit(batch) for batch in itertools.islice(pending, window)}
        while in_flight:
            try:
                with client.as_current():  # wait() asks for the current client
                    done, in_flight = wait(
                        in_flight, timeout=NO_WORKER_WAIT, return_when="FIRST_COMPLETED"
                    )
            except TimeoutError:
                if not client.nthreads():
                    raise _no_worker(scheduler, "all of its workers left mid-set") from None
                continue  # slow, not stranded: its workers are still there
            for future in done:
                yield future.result()
                future.release()
                following = next(pending, None)
                if following is not None:
                    in_flight.add(submit(following))
    finally:
        client.close()


@functools.cache
def code_fingerprint() -> str:
    """A digest of facedemo's own source files (this copy's). A worker that runs other code
    could store vectors that differ from the caller's, so the two must match."""
    root = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def check_workers(client: Client, scheduler: str) -> None:
    """A SettingError unless the cluster has a worker (within :data:`NO_WORKER_WAIT` s) and
    every worker runs this copy of facedemo (:func:`code_fingerprint`)."""
    try:
        client.wait_for_workers(1, timeout=NO_WORKER_WAIT)
    except TimeoutError:
        raise _no_worker(scheduler, f"none joined it in {NO_WORKER_WAIT:.0f} s") from None
    try:
        found = client.run(code_fingerprint)
    except Exception as error:  # raised on a worker and sent back: any import failure
        raise SettingError(
            f"A Dask worker of {scheduler} cannot run facedemo ({error}). Start every "
            "worker from a checkout of this project, with its "
            "requirements.txt installed (docs/parallel.md)."
        ) from error
    stale = sorted(
        address for address, fingerprint in found.items() if fingerprint != code_fingerprint()
    )
    if stale:
        raise SettingError(
            f"{len(stale)} of the {len(found)} Dask workers of {scheduler} run other "
            f"facedemo code than this copy ({', '.join(stale)}), so their vectors could "
            "differ from the store's. Bring their checkout to this one's and restart them."
        )


def _no_worker(scheduler: str, why: str) -> SettingError:
    return SettingError(
        f"The Dask scheduler at {scheduler} has no worker: {why}. Photos embedded so far "
        f"are kept. Start workers (dask worker {scheduler}, docs/parallel.md) and run again, "
        "or leave --scheduler and FACEDEMO_DASK_SCHEDULER empty to embed on this machine."
    )


def connect(scheduler: str) -> Client:
    """A Dask client of the scheduler at ``scheduler`` (``tcp://HOST:PORT``), or a
    SettingError within :data:`CONNECT_TIMEOUT` seconds when nothing answers there."""
    from distributed import Client
    from distributed.comm import get_address_host_port

    def unreachable(why: str) -> SettingError:
        return SettingError(
            f"No Dask scheduler answered at {scheduler} ({why}). Start one there "
            "(docs/parallel.md: dask scheduler, then dask worker), check the address, or "
            "leave --scheduler and FACEDEMO_DASK_SCHEDULER empty to embed on this machine."
        )

    try:
        host, port = get_address_host_port(scheduler)
    except ValueError as error:
        raise unreachable(f"not an address like tcp://HOST:8786: {error}") from error
    try:  # a plain connection first: a failed Client hangs in its own clean-up
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise unreachable(f"{error.strerror or error}") from error
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except OSError as error:  # something listens there, but not a scheduler
        raise unreachable(str(error)) from error
