from vivavoce.engines.clauses import ClauseSegmenter


def segment(deltas: list[str], **kwargs) -> list[str]:
    seg = ClauseSegmenter(**kwargs)
    out = [chunk for d in deltas for chunk in seg.feed(d)]
    return out + seg.flush()


def char_by_char(text: str) -> list[str]:
    return segment(list(text))


def test_first_chunk_at_clause_then_sentences():
    text = "Sure thing, Paris looks sunny, warm, and bright. Take a hat, though!"
    assert char_by_char(text) == [
        "Sure thing, Paris looks sunny,",
        "warm, and bright.",
        "Take a hat, though!",
    ]


def test_an_opening_without_commas_ends_before_a_new_phrase():
    assert char_by_char("The capital of France is Paris. It is lovely.") == [
        "The capital of France", "is Paris.", "It is lovely."]
    assert char_by_char("Sure thing, the weather in Paris is sunny.") == [
        "Sure thing, the weather", "in Paris is sunny."]
    assert char_by_char("A good name for a black cat could be Luna.") == [
        "A good name", "for a black cat could be Luna."]
    # Too early for a breath: "is" comes after two words only.
    assert char_by_char("The sky is blue because of the air.") == [
        "The sky is blue", "because of the air."]


def test_the_opening_is_cut_as_soon_as_the_opener_appears():
    seg = ClauseSegmenter()
    assert [c for t in ("The", " capital", " of", " France") for c in seg.feed(t)] == []
    # The LLM's next token opens a phrase: no need to wait for the one after it.
    assert seg.feed(" is") == ["The capital of France"]
    # Seen letter by letter, a word that starts like an opener is cut before too.
    assert char_by_char("My four best friends together won.") == [
        "My four best friends", "together won."]


def test_an_opening_is_cut_after_a_handful_of_words_at_most():
    assert char_by_char("Six tiny red ants ran far away.") == [
        "Six tiny red ants ran far", "away."]
    # Or characters: a number is read a digit (token) at a time.
    assert char_by_char("The moon is approximately 238,900 miles away.") == [
        "The moon is approximately", "238,900 miles away."]


def test_an_opening_is_cut_before_a_number_as_its_first_digit_appears():
    assert char_by_char("It is about 5 degrees outside today.") == [
        "It is about", "5 degrees outside today."]
    seg = ClauseSegmenter()
    assert seg.feed("The moon is approximately 3") == ["The moon is approximately"]
    # Not before the opening has its few words.
    assert char_by_char("There are 29 days in a leap year.") == [
        "There are 29 days", "in a leap year."]


def test_short_opening_clause_waits_for_enough_words():
    assert char_by_char("Yes, of course. Go.") == ["Yes, of course.", "Go."]


def test_chunks_come_out_as_soon_as_complete():
    seg = ClauseSegmenter()
    assert seg.feed("Hello there, my") == []
    assert seg.feed(" good friend, nice") == ["Hello there, my good friend,"]
    assert seg.feed(" day. How are you") == ["nice day."]
    assert seg.feed("?") == []  # might still be "?!" or '?"'
    assert seg.feed(" ") == ["How are you?"]
    assert seg.flush() == []


def test_numbers_and_abbreviations_do_not_cut():
    text = ("It costs 3.5 dollars, e.g. at Mr. Smith's shop at 10:30 a.m. today. "
            "J. R. R. Tolkien wrote 1,000 pages. Next.")
    assert char_by_char(text) == [
        "It costs 3.5 dollars,",
        "e.g. at Mr. Smith's shop at 10:30 a.m. today.",
        "J. R. R. Tolkien wrote 1,000 pages.",
        "Next.",
    ]


def test_question_and_exclamation_with_closing_quote():
    assert char_by_char('He said "stop!" Then left? Yes.') == [
        'He said "stop!"', "Then left?", "Yes.",
    ]


def test_newlines_cut_and_markdown_is_not_spoken():
    text = "## Options\n\n- **Tea** is `hot`\n- Coffee\n1. First step\n---\nDone"
    assert char_by_char(text) == ["Options", "Tea is hot", "Coffee", "First step", "Done"]


def test_run_on_text_is_cut_at_a_space():
    chunks = segment(["word " * 100], max_chars=50)
    assert all(len(c) <= 50 for c in chunks)
    assert " ".join(chunks).split() == ["word"] * 100


def test_flush_returns_the_tail_and_whitespace_is_tidied():
    assert segment(["  Hello   world  "]) == ["Hello world"]
    assert segment([""]) == []
