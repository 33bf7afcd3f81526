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
# Pillow's own guard, for every image opened anywhere in the process (photo hashes, PDF
# reports): a warning above MAX_PIXELS, an error above twice that, before any pixel is
# decoded. Our checks turn both into a refusal with a Chinese message, never a 500.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

#: Upper sizes by kind (issue 15); the web server's MAX_CONTENT_LENGTH caps a whole request.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_IMAGE_DOCUMENT_BYTES = 15 * 1024 * 1024


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
    """Return the content type of a PDF or image, or raise ``ContentError``.

    Inside a request, the uploader's organisation must also have room for it (quota).
    """
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ContentError(f"文件超过 {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB",
                           f"the file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")
    if not data:
        raise ContentError("文件是空的", "the file is empty")
    kind = sniff(data)
    if kind is None or kind not in allowed:
        raise ContentError("文件内容不是 PDF、JPEG 或 PNG（按文件内容判断，与扩展名无关）",
                           "the file is not a PDF, JPEG or PNG (judged by its content, not its name)")
    if kind == PDF:
        if b"%%EOF" not in data[-2048:]:
            raise ContentError("PDF 文件不完整", "the PDF file is incomplete")
    else:
        if len(data) > MAX_IMAGE_DOCUMENT_BYTES:
            raise ContentError("图片超过 15 MB", "the image is larger than 15 MB")
        check_image(data)
    from reliefsvc.evidence import quota

    quota.ensure_room(quota.current_organisation_id(), len(data))
    return kind


def check_image(data: bytes) -> tuple[int, int]:
    """Decode the header and verify the image; refuse decompression bombs."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise ContentError(f"图片像素过多（{width}×{height}，上限 6000 万像素）",
                                       f"the image has too many pixels ({width}x{height})")
                img.verify()
    except ContentError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ContentError("图片像素过多", "the image has too many pixels") from exc
    except Exception as exc:  # Pillow raises many kinds for a damaged file
        raise ContentError("图片文件已损坏，无法读取", "the image is damaged") from exc
    return width, height


def without_metadata(stream, content_type: str):
    """What a page shows of a stored document: images re-encoded without EXIF (GPS), PDFs as stored.

    The stored file stays byte for byte (it is the evidence); a scanned receipt photographed
    with a phone would otherwise show where it was taken to everyone who may open it.
    """
    if content_type not in (JPEG, PNG):
        return stream
    with stream:
        data = stream.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                from PIL import ImageOps

                upright = ImageOps.exif_transpose(img)
                out = io.BytesIO()
                if content_type == JPEG:
                    upright.convert("RGB").save(out, "JPEG", quality=90)  # no exif= argument: no metadata
                else:
                    upright.save(out, "PNG")  # Pillow writes no EXIF or text chunks unless asked
    except Exception:  # checked on upload; a file Pillow cannot read again is shown as stored
        return io.BytesIO(data)
    out.seek(0)
    return out
