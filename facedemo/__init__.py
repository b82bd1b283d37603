"""facedemo: face verification you can see, tune and train, built on DeepFace.

The library behind the Streamlit pages and ``python -m facedemo``; it never
imports Streamlit. Start with :func:`verify`.
"""

from facedemo.errors import (
    DatasetError,
    FaceDemoError,
    FaceIndexError,
    ImageError,
    NoFaceError,
    RunError,
    SettingError,
    WeightsUnavailableError,
)
from facedemo.faces import DEFAULT_ENGINE, Engine, Face, Verification, detect, embed, verify

__all__ = [
    "DEFAULT_ENGINE",
    "DatasetError",
    "Engine",
    "Face",
    "FaceDemoError",
    "FaceIndexError",
    "ImageError",
    "NoFaceError",
    "RunError",
    "SettingError",
    "Verification",
    "WeightsUnavailableError",
    "detect",
    "embed",
    "verify",
]
