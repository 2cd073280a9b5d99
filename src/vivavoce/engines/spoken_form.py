"""Numbers, money, units and times rewritten the way a person says them, for espeak-ng.

Piper phonemizes with espeak-ng, which reads plain numbers well ("1969",
"3.5", "10:30", "1,000", "21st") but says "$5" as "dollar five", "21°C" as
"twenty-one degrees C", "5 km" as "five kay em", "3:05" as "three zero five" and
drops the minus of "9 - 4". Only those cases are rewritten, into words espeak
reads right; everything else passes through unchanged.
"""

from __future__ import annotations

import re

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"  # 8,849 and 3.5, not "5," in "$5, or"

_CURRENCIES = {"$": ("dollar", "cent"), "£": ("pound", "penny"), "€": ("euro", "cent")}
_MONEY = re.compile(rf"([$£€])\s?({_NUMBER})(\s(?:thousand|million|billion|trillion)\b)?")

_UNITS = {
    "km/h": "kilometers per hour", "kph": "kilometers per hour", "mph": "miles per hour",
    "km": "kilometers", "cm": "centimeters", "mm": "millimeters", "m": "meters",
    "kg": "kilograms", "g": "grams", "mg": "milligrams", "ml": "milliliters",
    "ft": "feet", "mi": "miles", "oz": "ounces", "lb": "pounds", "lbs": "pounds",
    "hr": "hours", "hrs": "hours", "min": "minutes", "sec": "seconds",
}
_SINGULAR = {"feet": "foot", "inches": "inch"}
_UNIT = re.compile(
    rf"(?<![\w.])(-?{_NUMBER})\s?("
    + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
    + r")(?![\w/])")
_DEGREES = re.compile(rf"({_NUMBER})\s?°\s?([CF])\b")
_TIME = re.compile(r"\b(\d{1,2}):(0\d)\b")
_ON_THE_HOUR = re.compile(r"\b(\d{1,2}):00(?=\s?[ap]\.?m\b)", re.IGNORECASE)  # 3:00 pm
_FRACTIONS = {"1/2": "one half", "1/3": "one third", "2/3": "two thirds",
              "1/4": "one quarter", "3/4": "three quarters", "24/7": "twenty-four seven"}
_FRACTION = re.compile(r"(?<![\d/])(" + "|".join(_FRACTIONS) + r")(?![\d/])")
_OPERATORS = {"x": "times", "×": "times", "-": "minus", "/": "divided by", "=": "equals",
              "+": "plus"}
_OPERATION = re.compile(rf"({_NUMBER}) ([x×\-/=+]) (?=-?\d)")


def _plural(word: str, amount: str) -> str:
    if amount.lstrip("-") in ("1", "1.0"):
        return _SINGULAR.get(word, word[:-1] if word.endswith("s") else word)
    return word


def _money(m: re.Match[str]) -> str:
    unit, cents_unit = _CURRENCIES[m.group(1)]
    amount, scale = m.group(2), m.group(3) or ""
    if scale:  # "$3.5 billion": three point five billion dollars
        return f"{amount}{scale} {unit}s"
    whole, _, cents = amount.partition(".")
    said = f"{whole} {_plural(unit + 's', whole)}"
    if cents and int(cents):
        cents = cents.ljust(2, "0")[:2]
        plural = "pence" if cents_unit == "penny" else cents_unit + "s"
        said += f" and {int(cents)} {cents_unit if int(cents) == 1 else plural}"
    return said


def _unit(m: re.Match[str]) -> str:
    words = _UNITS[m.group(2)]
    first, _, rest = words.partition(" ")
    return f"{m.group(1)} {_plural(first, m.group(1))}{' ' + rest if rest else ''}"


def _time(m: re.Match[str]) -> str:
    hour, minutes = m.group(1), m.group(2)
    return f"{hour} o'clock" if minutes == "00" else f"{hour} oh {minutes[1]}"


def spoken(text: str) -> str:
    """`text` with the numbers espeak-ng would misread written out as they are said."""
    text = _MONEY.sub(_money, text)
    text = _DEGREES.sub(lambda m: f"{m.group(1)} degrees "
                        f"{'Celsius' if m.group(2) == 'C' else 'Fahrenheit'}", text)
    text = _UNIT.sub(_unit, text)
    text = _ON_THE_HOUR.sub(r"\1", text)
    text = _TIME.sub(_time, text)
    text = _FRACTION.sub(lambda m: _FRACTIONS[m.group(1)], text)
    return _OPERATION.sub(lambda m: f"{m.group(1)} {_OPERATORS[m.group(2)]} ", text)
