"""The password policy: long enough, not a famous password, not the email."""

from __future__ import annotations

from admitone.accounts.errors import WeakPassword

_COMMON = frozenset(
    [
        "password",
        "password1",
        "password12",
        "password123",
        "password1234",
        "passw0rd",
        "1234567890",
        "0123456789",
        "12345678910",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "iloveyou123",
        "letmein123",
        "welcome123",
        "administrator",
        "admin12345",
        "changeme123",
        "trustno1234",
        "football123",
        "baseball123",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "abcdefghij",
        "abc1234567",
        "aaaaaaaaaa",
        "1111111111",
        "0000000000",
        "superman123",
    ]
)


def check_password_strength(password: str, *, email: str, min_length: int) -> None:
    if len(password) < min_length:
        raise WeakPassword(
            f"The password must be at least {min_length} characters long.", field="password"
        )
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) < 4:
        raise WeakPassword("The password is too common or too simple.", field="password")
    if lowered == email.lower() or lowered == email.split("@", 1)[0].lower():
        raise WeakPassword("The password may not be your email address.", field="password")
