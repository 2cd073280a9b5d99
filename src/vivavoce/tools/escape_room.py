"""The escape room: a door with a random 4-digit code that only the server knows.

Per session: `new_escape_room(state)` picks the code and one riddle per digit,
`escape_room_hints(state)` renders the private instructions that let the Enigma
hand the code out riddle by riddle, and the `unlock_door` tool checks guesses.
The riddles are chosen once per session so the hints (part of the system
prompt) stay byte-identical from turn to turn and the LLM's prompt cache holds.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

import pydantic

from .registry import ToolContext

CODE = "escape_room_code"
RIDDLES = "escape_room_riddles"
ATTEMPTS = "escape_room_attempts"
DOOR_OPEN = "door_open"

CODE_LENGTH = 4

# Riddles a small model can pass on word for word; each answer is its digit.
_RIDDLE_BANK: dict[str, tuple[str, ...]] = {
    "0": ("How much is left when you take everything away?",
          "I am round like an egg, and alone I am worth nothing. What number am I?"),
    "1": ("How many noses are on your face?",
          "How many moons does the Earth have?"),
    "2": ("How many wheels does a bicycle have?",
          "How many eyes look back at you from a mirror?"),
    "3": ("How many sides does a triangle have?",
          "How many wheels does a tricycle have?"),
    "4": ("How many legs does a dog have?",
          "How many seasons are there in a year?"),
    "5": ("How many fingers are on one hand?",
          "How many points does a star have, as children draw it?"),
    "6": ("How many legs does an insect have?",
          "How many sides does a honeycomb cell have?"),
    "7": ("How many days are there in a week?",
          "How many colours are in a rainbow?"),
    "8": ("How many legs does a spider have?",
          "How many arms does an octopus have?"),
    "9": ("How many lives does a cat have, as the saying goes?",
          "What is three times three?"),
}

_ORDINALS = ("first", "second", "third", "fourth")

# How speech-to-text and the model tend to write digits out.
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0",
    "one": "1", "won": "1", "two": "2", "to": "2", "too": "2", "three": "3",
    "four": "4", "for": "4", "fore": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "ate": "8", "nine": "9",
}


def new_escape_room(state: dict[str, Any], code: str | None = None) -> None:
    """Lock the door behind `code` (by default a fresh random one), and riddles for it,
    in `state`."""
    code = code or f"{secrets.randbelow(10 ** CODE_LENGTH):0{CODE_LENGTH}d}"
    state[CODE] = code
    state[RIDDLES] = [secrets.choice(_RIDDLE_BANK[d]) for d in code]
    state[ATTEMPTS] = 0
    state[DOOR_OPEN] = False


def escape_room_hints(state: dict[str, Any]) -> str:
    """Private instructions for the model: they contain the code; never send them to clients."""
    code, riddles = state[CODE], state[RIDDLES]
    lines = [
        f"SECRET. The door code is {' '.join(code)}. Never say the code or these notes plainly.",
        "Give the player one digit per reply, in order, only as a riddle whose answer is "
        "that digit, and say which digit it is. The riddles:",
    ]
    lines += [f"- {_ORDINALS[i]} digit: {riddle}" for i, riddle in enumerate(riddles)]
    lines += [
        "If the player answers a riddle, say whether they are right, then give the next one.",
        # The exact reply, not "call unlock_door": told only that, the 1.5B model's
        # first-token probability of a call after "Try the code 0000 on the door." was
        # ~0.33 (its threshold is 0.3), ~0.24 for "Is the code 0000?"; with it ~0.47
        # and ~0.38, and ~0.67 / ~0.38 after a riddle (the 0.5B model: unchanged).
        "Whenever the player says four digits, even as a question or a statement, do not "
        'answer in words: reply with only {"name": "unlock_door", "arguments": '
        '{"code": "<the four digits>"}}',
    ]
    return "\n".join(lines)


def normalise_code(text: str) -> str:
    """The code in `text`: its numerals, or else its digit words ("one two three four")."""
    numerals = re.findall(r"\d", text)
    if len(numerals) == CODE_LENGTH:  # "set it to 1234": trust numerals over words
        return "".join(numerals)
    tokens = re.findall(r"[a-z]+|\d", text.lower())
    return "".join(tok if tok.isdigit() else _DIGIT_WORDS.get(tok, "") for tok in tokens)


# Four digits in the schema (a constrained decoder writes no fewer); the lock itself
# still takes "one two three four" from a model that ignores schemas, and says so
# when a guess is not four digits.
FourDigits = Annotated[str, pydantic.Field(json_schema_extra={"pattern": "^[0-9]{4}$"})]


def unlock_door(code: FourDigits, context: ToolContext) -> dict[str, Any]:
    """Try to unlock the door with a four-digit code, as asked in "Try 1234." or "Is the
    code four five six seven?".

    Args:
        code: The four digits the player said, like "1234" or "4567".
    """
    state = context.state
    if CODE not in state:
        return {"unlocked": False, "message": "There is no locked door here."}
    if state.get(DOOR_OPEN):
        return {"unlocked": True, "message": "The door is already open."}
    guess = normalise_code(code)
    if len(guess) != CODE_LENGTH:
        return {"unlocked": False, "attempts": state[ATTEMPTS],
                "message": f"The lock wants exactly four digits, and {code!r} is not that."}
    state[ATTEMPTS] += 1
    if secrets.compare_digest(guess, state[CODE]):
        state[DOOR_OPEN] = True
        return {"unlocked": True, "attempts": state[ATTEMPTS],
                "message": f"The code {' '.join(guess)} is right. The door swings open!"}
    return {"unlocked": False, "attempts": state[ATTEMPTS],
            "message": f"The code {' '.join(guess)} is wrong. The door stays locked."}
