"""Photos of services: checked by content, EXIF time and position read, a display copy made.

The original is kept byte for byte (it is the evidence); the display copy is re-encoded
without any metadata, at most 1600 px, so that GPS — sensitive personal data — never
reaches anyone who is not an officer, evaluator or inspector.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image, ImageOps

from reliefsvc.evidence.content import HEIC, JPEG, PNG, ContentError, sniff

try:  # HEIC photos from phones, read by pillow-heif (a well-kept libheif binding)
    from pillow_heif import register_heif_opener

    register_heif_opener()
    _PHOTO_TYPES = (JPEG, PNG, HEIC)
except ImportError:  # pragma: no cover — the dependency is declared; this keeps a broken install readable
    _PHOTO_TYPES = (JPEG, PNG)
from reliefsvc.integrity.photohash import (
    COLOUR_GRID,
    colour_grid,
    open_grey,
    pack_trims,
    signature_of,
)

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_PHOTO_BYTES = 15 * 1024 * 1024
#: A phone camera gives up to ~50 MP; 20000 x 20000 (400 MP) is refused before decoding.
MAX_PIXELS = 60_000_000
DISPLAY_SIZE = 1600
#: How the stored perceptual hashes were taken (``Photo.hash_version``). 1: from a 1/8-scale
#: grey decode of their own; 2: from the intake's one reduced decode (``signature``), which
#: differs by a few bits. ``services rehash-photos`` brings older photos to this version.
HASH_VERSION = 2

_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    width: int
    height: int
    #: DateTimeOriginal as written by the camera, read as Asia/Shanghai local time.
    exif_time: datetime | None
    exif_lat: float | None
    exif_lon: float | None
    phash: int
    dhash: int
    display: bytes
    #: the windows' hashes, packed (photohash.pack_trims), and the 8x8 colour grid
    trim_hashes: bytes = b""
    colours: bytes = b""
    #: SHA-256 (hex) of the photo as given: its name in the evidence store.
    sha256: str = ""


def _rational(value) -> float:
    try:
        return float(value)
    except (TypeError, ZeroDivisionError):
        num, den = value
        return num / den


def _degrees(dms, ref) -> float | None:
    try:
        d, m, s = (_rational(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return -value if ref in ("S", "W", b"S", b"W") else value


def read_exif(img: Image.Image) -> tuple[datetime | None, float | None, float | None]:
    exif = img.getexif()
    when = None
    raw = exif.get_ifd(_EXIF_IFD).get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if raw:
        try:
            when = datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(tzinfo=LOCAL_TZ)
        except ValueError:
            when = None
    gps = exif.get_ifd(_GPS_IFD)
    lat = lon = None
    if gps:
        lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
        lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            lat = lon = None
    return when, lat, lon


def examine(data: bytes) -> PhotoFacts:
    """Check a photo and read what it says about itself; raise ``ContentError`` if it is no photo.

    A JPEG (nearly every phone photo) is decoded once, at the reduced size its display copy
    needs (``Image.draft``: libjpeg scales by 1/2, 1/4 or 1/8 while decoding, so a 12 MP
    photo is never decoded at full size), and the display copy, the colour grid and the
    perceptual hashes all come from that one decode (``_reduced_jpeg``). ``signature``
    takes the hashes the same way, bit for bit, for photos stored before (``HASH_VERSION``).
    Other formats go the plain way.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise ContentError("照片超过 15 MB", "the photo is larger than 15 MB")
    kind = sniff(data)
    if kind not in _PHOTO_TYPES:
        raise ContentError("文件内容不是 JPEG、PNG 或 HEIC 照片（按内容判断，与扩展名无关）",
                           "the file is not a JPEG, PNG or HEIC photo (judged by its content)")
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise ContentError(f"照片像素过多（{width}×{height}，上限 6000 万像素）",
                                       f"too many pixels ({width}x{height})")
                if kind != JPEG:  # PNG checks its chunks' CRCs here; for a JPEG verify() does nothing
                    with Image.open(io.BytesIO(data)) as probe:
                        probe.verify()
                when, lat, lon = read_exif(img)
                reduced = _reduced_jpeg(img) if kind == JPEG else None
                if reduced is not None:
                    display = _display_copy(reduced)
                    colours = reduced.colours()
                    hashes = signature_of(reduced.grey())
                else:
                    img.load()
                    upright = ImageOps.exif_transpose(img).convert("RGB")
                    upright.thumbnail((DISPLAY_SIZE, DISPLAY_SIZE))
                    display = _encode(upright)
                    colours = colour_grid(data)
                    hashes = signature(data)
    except ContentError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        # Pillow refuses a bomb while opening it, before our own check could name its size.
        raise ContentError("照片像素过多（上限 6000 万像素）", "too many pixels") from exc
    except Exception as exc:  # Pillow raises many kinds for a damaged file
        raise ContentError("照片已损坏，无法读取", "the photo is damaged") from exc
    phash, dhash, trims = hashes
    return PhotoFacts(kind, width, height, when, lat, lon, phash, dhash, display, pack_trims(trims), colours,
                      sha256=sha256)


def signature(data: bytes) -> tuple[int, int, tuple[tuple[int, int], ...]]:
    """``(phash, dhash, trim_hashes)`` of a photo, exactly as ``examine`` takes them.

    For a photo stored before the current ``HASH_VERSION`` and for the integrity tests and
    benchmarks (``photohash.photo_signature`` is this). Raises what Pillow raises for a
    file that is no picture.
    """
    with Image.open(io.BytesIO(data)) as img:
        reduced = _reduced_jpeg(img) if img.format == "JPEG" else None
        return signature_of(reduced.grey() if reduced is not None else open_grey(img))


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82, optimize=True)  # no exif= argument: no metadata
    return out.getvalue()


#: The request ``photohash.colour_grid`` passes to ``Image.draft``.
_COLOUR_DRAFT = (128, 128)
#: The request the hashes' grey decode passed to ``Image.draft`` (hash version 1).
_HASH_DRAFT = (256, 256)
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


def _draft_scale(size: tuple[int, int], wanted: tuple[int, int]) -> int:
    """The 1/n scale Pillow's JPEG draft picks for ``wanted`` (JpegImagePlugin.draft)."""
    scale = min(size[0] // max(1, wanted[0]), size[1] // max(1, wanted[1]))
    return next(s for s in (8, 4, 2, 1) if scale >= s or s == 1)


def _display_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    if max(width, height) <= DISPLAY_SIZE:
        return width, height
    ratio = DISPLAY_SIZE / max(width, height)
    return max(1, round(width * ratio)), max(1, round(height * ratio))


class _Reduced:
    """A JPEG decoded once at 1/``scale`` (YCbCr or grey, as stored), and what comes of it."""

    def __init__(self, img: Image.Image, size: tuple[int, int], scale: int, colour_scale: int):
        self.img, self.size, self.scale, self.colour_scale = img, size, scale, colour_scale
        self.transpose = _TRANSPOSE.get(img.getexif().get(ExifTags.Base.Orientation, 1))

    def upright(self, image: Image.Image) -> Image.Image:
        return image.transpose(self.transpose) if self.transpose is not None else image

    def colours(self) -> bytes:
        # libjpeg's 1/8 scale (colour_grid's decode) is the mean of each 8x8 block, as is
        # a box reduction of this decode (within 2 of 255 levels).
        factor = self.colour_scale // self.scale
        small = self.upright((self.img.reduce(factor) if factor > 1 else self.img).convert("RGB"))
        return small.resize((COLOUR_GRID, COLOUR_GRID), Image.Resampling.BOX).tobytes()

    def grey(self) -> Image.Image:
        """The luma (Y, what a grey decode gives), box-reduced to the 1/8-ish scale the
        hashes were first taken at (``Image.draft("L", (256, 256))``), upright."""
        luma = self.img.getchannel(0) if self.img.mode == "YCbCr" else self.img
        factor = max(1, _draft_scale(self.size, _HASH_DRAFT) // self.scale)
        return self.upright(luma.reduce(factor) if factor > 1 else luma)


def _reduced_jpeg(img: Image.Image) -> _Reduced | None:
    """Decode a colour or grey JPEG at the scale its display copy needs; None for others."""
    if img.mode not in ("RGB", "L") or len(img.tile) != 1:
        return None  # CMYK and the like: the plain way
    size = img.size
    colour_scale = _draft_scale(size, _COLOUR_DRAFT)
    scale = min(_draft_scale(size, _display_size(size)), colour_scale)
    # YCbCr: the display copy is encoded from the decoded planes without a round trip
    # through RGB (the encoder takes YCbCr as it is), and Y is the hashes' grey.
    img.draft("YCbCr" if img.mode == "RGB" else img.mode, (size[0] // scale, size[1] // scale))
    img.load()
    return _Reduced(img, size, scale, colour_scale)


def _display_copy(reduced: _Reduced) -> bytes:
    img = reduced.img
    # BOX is area averaging: from the draft decode the reduction is by less than 2, where
    # it looks as good as bicubic at half the time.
    display = img.resize(_display_size(img.size), Image.Resampling.BOX) if max(img.size) > DISPLAY_SIZE else img
    return _encode(reduced.upright(display))
