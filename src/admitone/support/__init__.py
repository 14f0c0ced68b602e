"""The support desk: requests from users and guests that staff work through."""
