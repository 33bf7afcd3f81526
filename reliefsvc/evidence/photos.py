"""Photos of services: checked by content, EXIF time and position read, a display copy made.

The original is kept byte for byte (it is the evidence); the display copy is re-encoded
without any metadata, at most 1600 px, so that GPS — sensitive personal data — never
reaches anyone who is not an officer, evaluator or inspector.
"""

from __future__ import annotations

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
from reliefsvc.integrity.photohash import colour_grid, pack_trims, photo_signature

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_PHOTO_BYTES = 15 * 1024 * 1024
#: A phone camera gives up to ~50 MP; 20000 x 20000 (400 MP) is refused before decoding.
MAX_PIXELS = 60_000_000
DISPLAY_SIZE = 1600

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
    """Check a photo and read what it says about itself; raise ``ContentError`` if it is no photo."""
    if len(data) > MAX_PHOTO_BYTES:
        raise ContentError("照片超过 15 MB", "the photo is larger than 15 MB")
    kind = sniff(data)
    if kind not in _PHOTO_TYPES:
        raise ContentError("文件内容不是 JPEG、PNG 或 HEIC 照片（按内容判断，与扩展名无关）",
                           "the file is not a JPEG, PNG or HEIC photo (judged by its content)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise ContentError(f"照片像素过多（{width}×{height}，上限 6000 万像素）",
                                       f"too many pixels ({width}x{height})")
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                when, lat, lon = read_exif(img)
                upright = ImageOps.exif_transpose(img).convert("RGB")
    except ContentError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        # Pillow refuses a bomb while opening it, before our own check could name its size.
        raise ContentError("照片像素过多（上限 6000 万像素）", "too many pixels") from exc
    except Exception as exc:  # Pillow raises many kinds for a damaged file
        raise ContentError("照片已损坏，无法读取", "the photo is damaged") from exc
    upright.thumbnail((DISPLAY_SIZE, DISPLAY_SIZE))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=82, optimize=True)  # no exif= argument: no metadata
    phash, dhash, trims = photo_signature(data)
    return PhotoFacts(kind, width, height, when, lat, lon, phash, dhash, out.getvalue(), pack_trims(trims),
                      colour_grid(data))
