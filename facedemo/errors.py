"""Errors a user can cause, each with a sentence a student understands.

Anything else that escapes the library is a bug and should keep its traceback.
"""


class FaceDemoError(Exception):
    """Base of every error a user can cause; its message is shown as is."""


class ImageError(FaceDemoError):
    """The bytes or file given are not an image we can use."""


class NoFaceError(FaceDemoError):
    """No face was found where one was needed."""


class FaceIndexError(FaceDemoError):
    """The face asked for by index does not exist in the photo."""


class WeightsUnavailableError(FaceDemoError):
    """A model's weights are missing and could not be downloaded."""


class SettingError(FaceDemoError):
    """An unknown model, detector, metric, alignment or threshold."""


class DatasetError(FaceDemoError):
    """An identity data set or pairs file that cannot be used."""


class RunError(FaceDemoError):
    """A training run that does not exist or cannot be started or read."""
