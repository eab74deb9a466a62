"""Messaging platforms: Telegram, Slack, Facebook Messenger, Twilio (SMS, WhatsApp) and
Microsoft Bot Framework, through Rasa's built-in connectors, minimally subclassed.

One module per platform (its input and output channel, and how its webhook requests are
verified), and the shared parts in their own modules:

* :mod:`~addons.platforms.text`: long texts split at paragraph, then sentence, then word
  boundaries to fit each platform's limit (never cut off; the safety advice is a message
  of its own and always fits). Rasa's connectors send every paragraph as a separate
  message instead, which would tear an answer card apart.
* :mod:`~addons.platforms.options`: numbered options for SMS and WhatsApp ("Reply 1 to
  read the full reply, ..."), an incoming digit mapped back to the payload from the
  options last sent to that sender; short aliases for payloads over a size limit.
* :mod:`~addons.platforms.dedupe`: a platform's retry of a message it already delivered
  (same update, event, message or activity id) is acknowledged and not processed again.
* :mod:`~addons.platforms.credentials`: ``python -m addons.messaging credentials OUT.yml``
  writes the credentials file: the channels of ``credentials.yml`` plus every platform
  whose required ``NEUROBOT_*`` variables are set (the table :data:`PLATFORMS`).

Every webhook request is verified before anything is read from it: Telegram's secret
token, Slack's v0 signature within a 5-minute window, Messenger's SHA-256 signature,
Twilio's signature, Bot Framework's JWT (key, issuer, audience, ``serviceUrl``).

Buttons are native where the platform has them: a Telegram inline keyboard, Messenger
quick replies, Slack buttons, Bot Framework suggested actions. The platform API base URL
can be set (``api_url`` in the credentials, from ``NEUROBOT_<PLATFORM>_API_URL``) so that
tests point the connectors at a loopback stand-in; Bot Framework's OpenID metadata (JWT
signing keys) and token URLs likewise.

Memory kept per Rasa process (numbered options, payload aliases, ids already seen) is
lost on restart and not shared between replicas: with several Rasa replicas, route each
platform's webhook (or at least each sender) to one replica; a shared store (Redis) is
the follow-up for more.
"""
