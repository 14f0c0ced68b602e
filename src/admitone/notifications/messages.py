"""Emails from templates: ``templates/<name>.subject.j2``, ``<name>.txt.j2`` and
``<name>.html.j2`` rendered with the same context, then composed into one MIME message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import Any, NamedTuple

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound, select_autoescape


class Attachment(NamedTuple):
    """A file sent with an email; a plain ``(filename, content_type, bytes)`` tuple works too."""

    filename: str
    content_type: str
    content: bytes


# What callers may pass: the named tuple or a plain (filename, content_type, bytes).
AttachmentLike = Attachment | tuple[str, str, bytes]


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class TemplateMissing(LookupError):
    pass


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("admitone.notifications", "templates"),
        # Only HTML is escaped: a text part or a subject with "&amp;" in it reads wrong.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        # A missing variable is a bug in the caller; an email with a blank name is worse.
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_email(template: str, context: Mapping[str, Any]) -> RenderedEmail:
    env = _environment()
    try:
        subject, text, html = (
            env.get_template(f"{template}.{part}.j2") for part in ("subject", "txt", "html")
        )
    except TemplateNotFound as exc:
        raise TemplateMissing(f"email template {template!r} is incomplete: {exc.name}") from exc
    return RenderedEmail(
        # A header cannot span lines; a stray newline from the template must not fold it.
        subject=" ".join(subject.render(context).split()),
        text=text.render(context),
        html=html.render(context),
    )


def compose_message(
    rendered: RenderedEmail,
    *,
    sender: str,
    to: str,
    message_id: str,
    date: datetime,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(date)
    # The same Message-ID on every attempt lets the receiving side drop a duplicate delivery.
    message["Message-ID"] = message_id
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message
