"""The rule for what an English voice can say, on characters and on token bytes."""

from __future__ import annotations

from vivavoce.engines.speakable import speakable_piece, unspeakable, unspeakable_tokens


def test_plain_english_numbers_and_accents_are_speakable():
    assert unspeakable("It's 21°C in Zürich, about £5 (or €6) — nice!") == ""
    assert unspeakable("Twelve times twelve is 144; 3.5 km/h, 50% off: 10:30 a.m.") == ""


def test_other_scripts_emoji_and_markup_are_not():
    assert unspeakable("Try yoga or 冥想.") == "冥想"
    assert unspeakable("Привет") == "Привет"
    assert unspeakable("Great job 🎉") == "🎉"
    assert unspeakable("**Paris** is the `capital`") == "*`"
    assert unspeakable("# Heading\n- item") == "#\n"


def test_pieces_of_characters_pass_only_if_they_can_finish_a_speakable_one():
    apostrophe = "’".encode()  # e2 80 99
    assert speakable_piece(apostrophe[:2]) and speakable_piece(apostrophe[2:] + b"s")
    cjk = "冥".encode()
    assert not speakable_piece(cjk[:1]) and not speakable_piece(cjk[:2])
    assert not speakable_piece(cjk[1:])  # its end, after a lead that is never allowed
    emoji = "🎉".encode()
    assert not speakable_piece(emoji[:2])
    assert speakable_piece("é".encode()[:1]) and speakable_piece(b" caf")
    assert not speakable_piece(b"\xff")


def test_token_ids_of_the_unspeakable_pieces():
    pieces = [b" the", "中".encode(), b"```", b" Paris", b"\n\n", b""]
    assert unspeakable_tokens(pieces).tolist() == [1, 2, 4]
