"""Images' token cost by OpenAI's rule, and their text stand-ins."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.image import Detail, StoredImage, image_tokens, stand_in, unseen


def test_the_cost_follows_openais_worked_examples() -> None:
    assert image_tokens(1024, 1024, Detail.HIGH) == 765  # 768×768: 4 tiles
    assert image_tokens(2048, 4096, Detail.HIGH) == 1105  # 1024×2048, then 768×1536: 6 tiles
    assert image_tokens(4096, 8192, Detail.LOW) == 85
    assert image_tokens(100, 100, Detail.AUTO) == 85 + 170  # small images are not scaled up: one tile


@given(width=st.integers(1, 10_000), height=st.integers(1, 10_000))
def test_high_detail_never_costs_more_than_sixteen_tiles(width: int, height: int) -> None:
    tokens = image_tokens(width, height, Detail.HIGH)
    assert 85 + 170 <= tokens <= 85 + 170 * 16 and (tokens - 85) % 170 == 0


def test_stand_ins_name_each_photo_by_its_caption() -> None:
    one = StoredImage("f1", 100, 10, 10, "a cat")
    bare = StoredImage("f2", 100, 10, 10)
    assert stand_in([one], "a cat") == "[photo: a cat]"
    assert stand_in([one, bare], "a cat") == "[photo: a cat] [photo: no caption]"
    assert stand_in([bare], "") == "[photo: no caption]"
    assert stand_in([one], "what breed?") == "[photo: a cat]\nwhat breed?"
    assert unseen(None) == "[photo not shown to you]" and unseen("x") == "[photo not shown to you: x]"


def test_a_stored_image_round_trips_without_empty_fields() -> None:
    image = StoredImage("f1", 2048, 640, 480)
    assert image.to_dict() == {"file_id": "f1", "size": 2048, "width": 640, "height": 480}
    assert StoredImage.from_dict(image.to_dict()) == image
