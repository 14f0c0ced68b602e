"""Product options and a buyer's choice of them.

A choice is normalised (names and values as the product declares them, sorted by name) and
keyed by a hash of that form, so ``{"size": "M", "colour": "red"}`` and ``{"colour": "red",
"size": "M"}`` are one cart line and one stock counter, whatever order the keys came in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from admitone.core.ids import sha256_hex
from admitone.shop.errors import InvalidOptions

NO_OPTIONS_KEY = ""


def normalise(choice: Mapping[str, str]) -> dict[str, str]:
    return {name: choice[name] for name in sorted(choice)}


def options_key(choice: Mapping[str, str]) -> str:
    """The key of a normalised choice; the empty choice has the empty key."""
    if not choice:
        return NO_OPTIONS_KEY
    text = json.dumps(normalise(choice), ensure_ascii=False, separators=(",", ":"))
    return sha256_hex(text)


def check_choice(
    offered: Sequence[Mapping[str, Any]], choice: Mapping[str, str], field: str = "options"
) -> dict[str, str]:
    """``choice`` normalised, when it names one offered value for every option and nothing
    else; otherwise ``InvalidOptions`` naming the option at fault."""
    values = {option["name"]: [v["value"] for v in option["values"]] for option in offered}
    for name in choice:
        if name not in values:
            raise InvalidOptions(f"The product has no option {name!r}.", field=f"{field}.{name}")
    for name, allowed in values.items():
        chosen = choice.get(name)
        if chosen is None:
            raise InvalidOptions(f"Choose a value for {name!r}.", field=f"{field}.{name}")
        if chosen not in allowed:
            raise InvalidOptions(
                f"{chosen!r} is not a value of {name!r}.",
                field=f"{field}.{name}",
                details={"allowed": allowed},
            )
    return normalise(choice)


def price_modifier(offered: Sequence[Mapping[str, Any]], choice: Mapping[str, str]) -> int:
    """What the chosen values add to the product's price, in minor units."""
    total = 0
    for option in offered:
        for value in option["values"]:
            if choice.get(option["name"]) == value["value"]:
                total += int(value.get("price_modifier", 0))
    return total
