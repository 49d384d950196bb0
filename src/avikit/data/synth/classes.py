"""The AVSynth sound-source classes: plain-word names built from named visual and acoustic attributes.

Every class is a combination of attributes (size, colour, shape, texture; sound, pitch), and its caption
is made from them, so a class held out of training is a new combination of attributes that were all
seen, and can be named zero-shot from its caption.

Example:
    >>> CLASSES["bell"].caption
    'a small yellow solid disc that rings at a high pitch'
    >>> len(CLASS_NAMES) >= 24
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from avikit.errors import DataError

__all__ = [
    "CLASSES",
    "CLASS_NAMES",
    "COLOURS",
    "OPEN_VOCAB_CLASSES",
    "PITCHES",
    "SEEN_CLASSES",
    "SHAPES",
    "SIZES",
    "SOUNDS",
    "TEXTURES",
    "SourceClass",
    "get_class",
]

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 80, 230),
    "yellow": (235, 215, 40),
    "magenta": (210, 50, 200),
    "cyan": (40, 210, 220),
    "orange": (245, 140, 30),
    "white": (240, 240, 240),
}
SHAPES = ("disc", "square", "triangle", "diamond", "ring", "cross")
TEXTURES = ("solid", "striped", "spotted")
SIZES: dict[str, float] = {"small": 8.0, "large": 13.0}
SOUNDS: dict[str, str] = {
    "ring": "rings",
    "hum": "hums",
    "buzz": "buzzes",
    "warble": "warbles",
    "chirp": "chirps",
    "tick": "ticks",
    "hiss": "hisses",
    "ah": "calls 'ah'",
    "ee": "calls 'ee'",
}
PITCHES: dict[str, float] = {"low": 150.0, "middle": 330.0, "high": 720.0}


@dataclass(frozen=True)
class SourceClass:
    """A sound-source class: its name, attributes and caption.

    Attributes:
        name: the plain-word label used by every task.
        index: position in :data:`CLASS_NAMES` (stable across versions: new classes are appended).
        size, colour, shape, texture: visual attributes.
        sound, pitch: acoustic attributes (the kind of synthesis and its register).
    """

    name: str
    index: int
    size: str
    colour: str
    shape: str
    texture: str
    sound: str
    pitch: str

    @property
    def caption(self) -> str:
        """The class described by its attributes, e.g. ``'a small yellow solid disc that rings ...'``."""
        look = f"{self.size} {self.colour} {self.texture} {self.shape}"
        return f"a {look} that {SOUNDS[self.sound]} at a {self.pitch} pitch"

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The class colour as an RGB triple."""
        return COLOURS[self.colour]

    @property
    def base_radius(self) -> float:
        """The typical radius in pixels at 128 px frame size."""
        return SIZES[self.size]

    @property
    def f0(self) -> float:
        """The typical fundamental (or centre) frequency in Hz."""
        return PITCHES[self.pitch]

    @property
    def attributes(self) -> dict[str, str]:
        """All attributes by name."""
        return {
            "size": self.size,
            "colour": self.colour,
            "shape": self.shape,
            "texture": self.texture,
            "sound": self.sound,
            "pitch": self.pitch,
        }


# name, size, colour, shape, texture, sound, pitch
_TABLE = (
    ("bell", "small", "yellow", "disc", "solid", "ring", "high"),
    ("chime", "small", "cyan", "triangle", "striped", "ring", "middle"),
    ("gong", "large", "orange", "ring", "solid", "ring", "low"),
    ("whistle", "small", "white", "cross", "solid", "hum", "high"),
    ("flute", "small", "blue", "diamond", "striped", "hum", "middle"),
    ("cello", "large", "orange", "triangle", "striped", "hum", "low"),
    ("bee", "small", "yellow", "diamond", "striped", "buzz", "high"),
    ("trumpet", "large", "yellow", "square", "spotted", "buzz", "middle"),
    ("engine", "large", "red", "square", "solid", "buzz", "low"),
    ("bird", "small", "green", "triangle", "solid", "warble", "high"),
    ("siren", "large", "red", "disc", "striped", "warble", "middle"),
    ("owl", "large", "blue", "disc", "spotted", "warble", "low"),
    ("cricket", "small", "green", "diamond", "spotted", "chirp", "high"),
    ("dolphin", "large", "cyan", "diamond", "solid", "chirp", "middle"),
    ("whale", "large", "blue", "square", "striped", "chirp", "low"),
    ("clock", "small", "white", "ring", "striped", "tick", "high"),
    ("woodpecker", "small", "red", "cross", "spotted", "tick", "middle"),
    ("drum", "large", "magenta", "disc", "solid", "tick", "low"),
    ("snake", "small", "green", "cross", "striped", "hiss", "high"),
    ("rain", "large", "cyan", "square", "spotted", "hiss", "middle"),
    ("wind", "large", "white", "triangle", "solid", "hiss", "low"),
    ("baby", "small", "magenta", "triangle", "spotted", "ah", "high"),
    ("dog", "large", "orange", "square", "striped", "ah", "middle"),
    ("cow", "large", "white", "disc", "spotted", "ah", "low"),
    ("cat", "small", "magenta", "diamond", "solid", "ee", "high"),
    ("sheep", "large", "white", "square", "solid", "ee", "middle"),
    ("horse", "large", "orange", "cross", "spotted", "ee", "low"),
)

CLASSES: dict[str, SourceClass] = {row[0]: SourceClass(row[0], i, *row[1:]) for i, row in enumerate(_TABLE)}
CLASS_NAMES: tuple[str, ...] = tuple(CLASSES)
OPEN_VOCAB_CLASSES: tuple[str, ...] = ("chime", "flute", "owl", "woodpecker", "cow", "sheep")
"""Classes held out of train/val/test; each is a new combination of attributes seen in the others."""
SEEN_CLASSES: tuple[str, ...] = tuple(n for n in CLASS_NAMES if n not in OPEN_VOCAB_CLASSES)


def get_class(name: str) -> SourceClass:
    """Return the class called ``name``.

    Raises:
        ValueError: if there is no such class; the message lists the valid names.
    """
    try:
        return CLASSES[name]
    except KeyError:
        raise DataError(
            f"unknown AVSynth class {name!r}; valid classes are {', '.join(CLASS_NAMES)}"
        ) from None
