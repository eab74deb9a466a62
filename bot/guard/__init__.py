"""What every incoming message meets first: cleaning, rate limits, the topic check."""
