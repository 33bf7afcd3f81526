"""What an uploaded file really is, decided from its bytes — never from its name."""

from __future__ import annotations

import io
import warnings

from PIL import Image

from reliefsvc.common.errors import BilingualError

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"

#: The "ftyp" brands of HEIF photos as iPhones and many Android phones write them.
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")

#: A photo from a phone is at most ~50 MP; anything larger is refused before decoding.
MAX_PIXELS = 60_000_000


class ContentError(BilingualError):
    """A file whose content is not what it must be."""


def sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        return HEIC
    return None


def check_document(data: bytes, allowed=(PDF, JPEG, PNG)) -> str:
    """Return the content type of a PDF or image, or raise ``ContentError``."""
    kind = sniff(data)
    if kind is None or kind not in allowed:
        raise ContentError("文件内容不是 PDF、JPEG 或 PNG（按文件内容判断，与扩展名无关）",
                           "the file is not a PDF, JPEG or PNG (judged by its content, not its name)")
    if kind == PDF:
        if b"%%EOF" not in data[-2048:]:
            raise ContentError("PDF 文件不完整", "the PDF file is incomplete")
        return kind
    check_image(data)
    return kind


def check_image(data: bytes) -> tuple[int, int]:
    """Decode the header and verify the image; refuse decompression bombs."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise ContentError("图片像素过多", "the image has too many pixels")
                img.verify()
    except ContentError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ContentError("图片像素过多", "the image has too many pixels") from exc
    except Exception as exc:  # Pillow raises many kinds for a damaged file
        raise ContentError("图片文件已损坏，无法读取", "the image is damaged") from exc
    return width, height
