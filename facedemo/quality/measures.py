"""Each photo's quality, measured once beside its embedding, from what the engine already has.

Five landmarks of dlib's 5-point model (in the photo's own pixels), the aligned crop the
model sees and the detector's score give seven numbers per photo, in a few milliseconds
(:func:`measure_face`): the face's size, its sharpness, its exposure, the head's pose and
the detector's confidence. :data:`MEASURES` names each after its ISO/IEC 29794-5
counterpart as OFIQ (the standard's reference implementation) computes it and says how ours
differs: OFIQ fits 98 landmarks, a 3-D head model and a face mask; we keep to what the
embedding path has already computed, so these are cheap proxies, not OFIQ's scores.

The EDC needs one direction per measure: :meth:`Measure.ranked` gives the numbers it ranks
(the value itself, or how far it is from the preferred value) and
:attr:`Measure.higher_is_better` their direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from facedemo.faces import Face

#: Bump when a measure is computed differently: stored measures of another version are
#: measured again (the vectors are kept).
MEASURES_VERSION = 1

#: The side, in pixels, a crop is brought to before its sharpness is measured (the dlib
#: chip's own): a Laplacian's variance depends on the resolution it is taken at.
SHARPNESS_SIDE = 150

#: The share of the crop, centred, whose pixels measure exposure on each axis: mostly skin;
#: the margin around it is hair and background.
EXPOSURE_REGION = 0.6

#: Grey levels counted as clipped: at most the first, at least the second.
CLIPPED_DARK, CLIPPED_BRIGHT = 5, 250

#: Mid-grey, the luminance the EDC prefers (it ranks the distance from it).
MID_GREY = 127.5

#: How far in front of the eyes (the middle of each eye's corners) the base of the nose
#: stands, in inter-eye distances: about 25 mm for eyes 63 mm apart, an adult average. The
#: yaw estimate is ``atan(offset / NOSE_DEPTH)`` and scales with this guess.
NOSE_DEPTH = 0.4


@dataclass(frozen=True)
class Measure:
    """One quality measure: what it is, in what unit, and how the EDC ranks it."""

    name: str
    label: str
    unit: str
    #: Direction of :meth:`ranked`'s numbers: True when a higher one is a better photo.
    higher_is_better: bool
    #: What the EDC ranks, in words: "the value", "|value|" or "|value − 127.5|".
    ranked_as: str
    #: The ISO/IEC 29794-5 measure (OFIQ's name) it stands for; "" when there is none.
    standard: str
    #: How ours is computed, and how it differs from the standard's.
    differs: str
    #: The range a good photo falls in, in words.
    preferred: str

    def ranked(self, values: ArrayLike) -> np.ndarray:
        """The numbers the EDC ranks (float64, NaN stays NaN): the values, or their
        distance from the preferred value (0° of pose, mid-grey)."""
        values = np.asarray(values, dtype=np.float64)
        if self.ranked_as == "|value|":
            return np.abs(values)
        if self.ranked_as == "|value − 127.5|":
            return np.abs(values - MID_GREY)
        return values.copy()


#: Every measure by name, in the order the store keeps and a page shows them.
MEASURES: dict[str, Measure] = {
    measure.name: measure
    for measure in (
        Measure(
            "inter_eye_distance",
            "Inter-eye distance",
            "px",
            True,
            "the value",
            "InterEyeDistance",
            "Distance between the middles of each eye's two corners, dlib's 5-point landmarks "
            "in the original photo's pixels. OFIQ takes the same middles from its 98 ADNet "
            "landmarks and divides by cos(yaw) of its 3-D head pose; ours is not corrected for "
            "yaw, so a turned head reads smaller.",
            "60 px or more (ISO/IEC 39794-5 asks 90 px for passports; OFIQ's quality is "
            "half at 70 px)",
        ),
        Measure(
            "sharpness",
            "Sharpness",
            "grey levels²",
            True,
            "the value",
            "Sharpness",
            "Variance of the 3×3 Laplacian of the aligned crop in grey, brought to 150 px. "
            "OFIQ feeds Laplacian and mean-difference features of its face mask to a random "
            "forest and maps the result to 0-100; ours is the raw variance, comparable only "
            "between crops of one engine (a chip shows more edges than a margin crop).",
            "higher is sharper; values depend on the engine's crop",
        ),
        Measure(
            "luminance",
            "Luminance mean",
            "grey level 0-255",
            False,
            "|value − 127.5|",
            "LuminanceMean",
            "Mean grey level (ITU-R BT.601 luma) of the central 60 % of the aligned crop. "
            "OFIQ averages the luminance of its face mask on a 0-1 scale, good between 0.2 "
            "and 0.8; the EDC here ranks the distance from mid-grey. Skin tone moves this "
            "number as much as exposure does: do not read it as a property of the camera "
            "alone.",
            "about 50-205 (OFIQ's 0.2-0.8)",
        ),
        Measure(
            "clipped_share",
            "Clipped share",
            "fraction of face pixels",
            False,
            "the value",
            "UnderExposurePrevention, OverExposurePrevention",
            "Share of the central 60 % of the aligned crop at grey level 5 or less or 250 or "
            "more: pixels whose detail is lost. OFIQ counts dark (0-25) and bright "
            "(247-255) pixels of its face mask separately and maps each share to 0-100.",
            "0; a few percent is visible",
        ),
        Measure(
            "yaw",
            "Head yaw",
            "degrees",
            False,
            "|value|",
            "HeadPoseYaw",
            "atan(d / 0.4): d is the base of the nose's offset from the eyes' midpoint "
            "along the eye line, in inter-eye distances, and 0.4 the nose's assumed depth "
            "in front of the eyes (a weak-perspective two-point model; the scale of the "
            "angle is a guess, its sign and order are not). Positive: the nose points to "
            "the image's right. OFIQ fits a 3-D face model (3DDFA-V2) instead.",
            "0° (frontal); OFIQ's quality halves near 30°",
        ),
        Measure(
            "roll",
            "Head roll",
            "degrees",
            False,
            "|value|",
            "HeadPoseRoll",
            "Angle of the line from the image's left eye to its right eye (y down: "
            "positive when the right one is lower). OFIQ takes roll from its fitted 3-D "
            "face model.",
            "0° (eyes level)",
        ),
        Measure(
            "detector_score",
            "Detector score",
            "0-1",
            True,
            "the value",
            "",
            "The detector's own confidence in the face (opencv's: 1 − its reject level / "
            "100, rounded to 0.01; 0 when no face was found and the whole photo stood in). "
            "Not an ISO/IEC 29794-5 measure, and not comparable between detectors.",
            "higher is more surely a face",
        ),
    )
}


def unmeasured() -> dict[str, float]:
    """Every measure as NaN: a photo nothing could be measured on."""
    return dict.fromkeys(MEASURES, math.nan)


def landmark_measures(points: np.ndarray) -> dict[str, float]:
    """Inter-eye distance, yaw and roll from dlib's five landmarks (x, y; the image-right
    eye's two corners, the image-left eye's, the base of the nose)."""
    points = np.asarray(points, dtype=np.float64)
    right_eye, left_eye, nose = points[0:2].mean(0), points[2:4].mean(0), points[4]
    eye_line = right_eye - left_eye
    distance = float(np.hypot(*eye_line))
    if not distance:
        return {"inter_eye_distance": 0.0, "yaw": math.nan, "roll": math.nan}
    offset = float((nose - (left_eye + right_eye) / 2) @ eye_line) / distance**2
    return {
        "inter_eye_distance": distance,
        "yaw": math.degrees(math.atan(offset / NOSE_DEPTH)),
        "roll": math.degrees(math.atan2(eye_line[1], eye_line[0])),
    }


def crop_measures(crop: np.ndarray) -> dict[str, float]:
    """Sharpness, luminance and clipped share of an aligned face crop (RGB uint8)."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    sized = grey
    if (height, width) != (SHARPNESS_SIDE, SHARPNESS_SIDE):
        shrinking = height * width > SHARPNESS_SIDE**2
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        sized = cv2.resize(grey, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=interpolation)
    margin = (1 - EXPOSURE_REGION) / 2
    top, left = round(margin * height), round(margin * width)
    centre = grey[top : max(top + 1, height - top), left : max(left + 1, width - left)]
    return {
        "sharpness": float(cv2.Laplacian(sized, cv2.CV_64F).var()),
        "luminance": float(centre.mean()),
        "clipped_share": float(
            np.count_nonzero((centre <= CLIPPED_DARK) | (centre >= CLIPPED_BRIGHT)) / centre.size
        ),
    }


def measure_face(face: Face, points: np.ndarray | None = None) -> dict[str, float]:
    """Every measure of one detected face, by name (NaN where it cannot be measured):
    ``points`` (or ``face.landmarks``) for size and pose, its crop, its score."""
    points = face.landmarks if points is None else points
    values = unmeasured()
    if points is not None and len(points) == 5:
        values.update(landmark_measures(points))
    if face.crop.size:
        values.update(crop_measures(face.crop))
    values["detector_score"] = float(face.score)
    return values
