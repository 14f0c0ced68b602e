"""Settling orders from what the payment gateway reports: its webhooks, reconciliation with it,
and the payment intent a browser confirms. It sits above ticketing and payments (the gateway
adapter), so neither of them imports the other."""
