"""Country codes and VAT identification numbers, checked by shape.

A VAT id is checked against the format its country prefix uses (the EU's VIES formats, the
UK's, Switzerland's and Norway's); whether it is registered is a question for VIES, which a
later step may ask outside any transaction.
"""

from __future__ import annotations

import re

# ISO 3166-1 alpha-2, the officially assigned codes.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a table to read, rather than 249 quoted strings
)

_UK = r"\d{9}|\d{12}|GD\d{3}|HA\d{3}"
# What follows the two-letter prefix, per prefix (Greece is EL, Northern Ireland XI).
VAT_FORMATS: dict[str, re.Pattern[str]] = {
    prefix: re.compile(rest)
    for prefix, rest in {
        "AT": r"U\d{8}",
        "BE": r"[01]\d{9}",
        "BG": r"\d{9,10}",
        "CY": r"\d{8}[A-Z]",
        "CZ": r"\d{8,10}",
        "DE": r"\d{9}",
        "DK": r"\d{8}",
        "EE": r"\d{9}",
        "EL": r"\d{9}",
        "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
        "FI": r"\d{8}",
        "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}",
        "HR": r"\d{11}",
        "HU": r"\d{8}",
        "IE": r"\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]",
        "IT": r"\d{11}",
        "LT": r"\d{9}|\d{12}",
        "LU": r"\d{8}",
        "LV": r"\d{11}",
        "MT": r"\d{8}",
        "NL": r"\d{9}B\d{2}",
        "PL": r"\d{10}",
        "PT": r"\d{9}",
        "RO": r"\d{2,10}",
        "SE": r"\d{12}",
        "SI": r"\d{8}",
        "SK": r"\d{10}",
        "XI": _UK,
        "GB": _UK,
        "CH": r"E\d{9}(?:MWST|TVA|IVA)?",
        "NO": r"\d{9}(?:MVA)?",
    }.items()
}
# Every accepted VAT id in its compact form, for the API's document.
VAT_PATTERN = (
    "^(?:" + "|".join(f"{prefix}(?:{p.pattern})" for prefix, p in VAT_FORMATS.items()) + ")$"
)
_SEPARATORS = re.compile(r"[\s.\-]")


def country_code(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as DE or FR")
    return code


def vat_id(value: str) -> str:
    """The VAT id without separators, upper case; ValueError when its shape is wrong."""
    compact = _SEPARATORS.sub("", value).upper()
    prefix, rest = compact[:2], compact[2:]
    pattern = VAT_FORMATS.get(prefix)
    if pattern is None:
        raise ValueError(
            "must start with a known VAT country prefix, such as DE, FR, EL, GB or CHE"
        )
    if not pattern.fullmatch(rest):
        raise ValueError(f"is not a well-formed {prefix} VAT number")
    return compact
