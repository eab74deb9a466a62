"""Every bot message named by its response: the ``custom`` card payload, per channel.

A response of ``domain.yml`` that a client draws specially (an archive card, the close
questions, the safety advice, the emergency and crisis messages, ...) has a ``custom:``
payload beside its text: ``{"response": "utter_archive_answer", "title": ..., ...}``,
its placeholders filled by Rasa like the text's. Every other message gets
``{"response": <its name>}`` here, from the name Rasa attaches to each message it
renders (``utter_action``), so that a client or the live evaluation can tell every
message apart by name and never by its wording.

Rasa 3.6 sends a message's ``custom`` after its text as a message of its own, which each
channel handles its own way: REST adds a second message, socket.io emits the payload's
keys as arguments, Slack, Twilio and Bot Framework post it to the platform as a request,
the terminal prints it as JSON. :func:`deliver` (every guarded channel's way out,
``addons.channels.WatchedOutput``) sends it instead:

* to a channel that draws cards (:class:`CardOutput`, the web chat's socket.io): the
  message with its card, in one piece;
* to REST: the same messages as before (a text without buttons cut at blank lines),
  the first of them with the card under ``custom``;
* to every other channel (the messaging apps, and the terminal, whose ``rasa shell``
  reads REST's messages but would print a card as JSON: :func:`for_input`): the text
  and buttons alone, exactly as without cards.

A ``custom`` payload without a ``response`` name is not a card: it goes to the channel
as Rasa would send it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel

from bot.names import RESPONSE_KEY

#: Where Rasa puts the name of the response a message was rendered from.
RASA_RESPONSE_NAME = "utter_action"
#: Input channels whose client shows text and buttons only, though they answer through
#: REST's collector: the terminal (``rasa shell`` prints a ``custom`` payload as JSON).
TEXT_ONLY_INPUTS = frozenset({"cmdline"})


@runtime_checkable
class CardOutput(Protocol):
    """An output channel whose client draws cards from their ``custom`` payload."""

    async def send_card(
        self, recipient_id: str, message: dict[str, Any], card: dict[str, Any]
    ) -> None:
        """Send one bot message (``text``, ``buttons``) with its ``card``."""


class TextOnlyOutput(OutputChannel):
    """Passes every message on to ``inner``; :func:`deliver` sends it no card."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner

    def name(self) -> str:
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self.inner.send_response(recipient_id, message)


def for_input(input_channel: str | None, output: OutputChannel) -> OutputChannel:
    """The output a message of ``input_channel`` is answered through: ``output``, or for
    a text-only client (:data:`TEXT_ONLY_INPUTS`) ``output`` without cards."""
    return TextOnlyOutput(output) if input_channel in TEXT_ONLY_INPUTS else output


def card_of(message: dict[str, Any]) -> dict[str, Any] | None:
    """The card payload of a bot message: its ``custom`` when that names a response,
    else ``{"response": <name>}`` when Rasa named the message; None for a message that
    is not ours to name (a ``custom`` payload of another kind, a message without name)."""
    custom = message.get("custom")
    if isinstance(custom, dict) and isinstance(custom.get(RESPONSE_KEY), str):
        return custom
    name = message.get(RASA_RESPONSE_NAME)
    if custom or not isinstance(name, str) or not name:
        return None
    return {RESPONSE_KEY: name}


def named(name: str, text: str, **fields: str) -> dict[str, Any]:
    """A message the channels send themselves (the guard's fallbacks): ``text`` named as
    response ``name``, with the card's ``fields``."""
    return {"text": text, "custom": {RESPONSE_KEY: name, **fields}}


async def _collect(
    output: CollectingOutputChannel,
    recipient_id: str,
    message: dict[str, Any],
    card: dict[str, Any],
) -> None:
    # What Rasa 3.6's CollectingOutputChannel sends for a text with or without buttons,
    # with the card on the first message.
    text = str(message.get("text") or "")
    buttons = message.get("quick_replies") or message.get("buttons")
    if buttons:
        parts = [output._message(recipient_id, text=text, buttons=buttons)]
    else:
        parts = [output._message(recipient_id, text=part) for part in text.strip().split("\n\n")]
    parts[0]["custom"] = card
    for part in parts:
        await output._persist_message(part)


async def deliver(output: OutputChannel, recipient_id: str, message: dict[str, Any]) -> None:
    """Send one bot message through ``output``, its card where the channel shows one."""
    card = card_of(message)
    if card is None:
        await output.send_response(recipient_id, message)
        return
    plain = {k: v for k, v in message.items() if k != "custom"}
    if isinstance(output, CardOutput):
        await output.send_card(recipient_id, plain, card)
    elif isinstance(output, CollectingOutputChannel) and plain.get("text"):
        await _collect(output, recipient_id, plain, card)
    else:
        await output.send_response(recipient_id, plain)
