"""admitone: open-source event ticketing."""
