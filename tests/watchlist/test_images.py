import numpy as np
import pytest

from tests.factories import decompression_bomb, png_bytes, truncated_jpeg
from tests.support import fixture_bytes
from watchlist.images import ImageRejected, decode_image, is_probably_image

LIMIT = 50_000_000


def test_decodes_jpeg_to_upright_rgb() -> None:
    rgb = decode_image(fixture_bytes("obama.jpg"), LIMIT)
    assert rgb.shape == (1137, 910, 3)
    assert rgb.dtype == np.uint8


def test_alpha_is_flattened_onto_white() -> None:
    pixels = np.zeros((4, 4, 4), dtype=np.uint8)
    pixels[..., 0] = 200
    pixels[:2, :, 3] = 255
    rgb = decode_image(png_bytes(pixels, "RGBA"), LIMIT)
    assert rgb.shape == (4, 4, 3)
    assert tuple(rgb[0, 0]) == (200, 0, 0)
    assert tuple(rgb[3, 3]) == (255, 255, 255)


def test_sixteen_bit_greyscale_is_scaled_to_eight_bits() -> None:
    pixels = np.full((8, 8), 0xFF00, dtype=np.uint16)
    rgb = decode_image(png_bytes(pixels), LIMIT)
    assert tuple(rgb[0, 0]) == (255, 255, 255)


def test_exif_orientation_is_applied() -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    image = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    image.save(buffer, format="JPEG", exif=exif)
    assert decode_image(buffer.getvalue(), LIMIT).shape[:2] == (40, 20)


def test_webp_is_decoded() -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(fixture_bytes("obama_small.jpg"))).save(buffer, format="WEBP")
    assert decode_image(buffer.getvalue(), LIMIT).shape == (240, 320, 3)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"this is a text file, not a photo\n", "not_an_image"),
        (truncated_jpeg(), "corrupt_image"),
    ],
    ids=["empty", "text", "truncated"],
)
def test_bad_images_are_refused_with_a_reason(data: bytes, code: str) -> None:
    with pytest.raises(ImageRejected) as refused:
        decode_image(data, LIMIT)
    assert refused.value.code == code
    assert refused.value.message


def test_image_over_the_configured_pixel_limit_is_refused() -> None:
    with pytest.raises(ImageRejected) as refused:
        decode_image(fixture_bytes("obama.jpg"), max_pixels=1_000_000)
    assert refused.value.code == "image_too_large"
    assert "910x1137" in refused.value.message


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageRejected) as refused:
        decode_image(decompression_bomb(), LIMIT)
    assert refused.value.code == "image_too_large"
    assert "pixels" in refused.value.message


def test_content_decides_not_the_name() -> None:
    assert is_probably_image(fixture_bytes("lmm1.png")[:16])
    assert not is_probably_image(fixture_bytes("short_hamilton_clip.mp4")[:16])


def test_a_refusal_survives_pickling_as_it_crosses_from_a_worker_process() -> None:
    import pickle

    copy = pickle.loads(pickle.dumps(ImageRejected("empty_file", "the file is empty")))
    assert isinstance(copy, ImageRejected)
    assert (copy.code, copy.message) == ("empty_file", "the file is empty")
