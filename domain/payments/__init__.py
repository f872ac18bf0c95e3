"""Paying fees online: fee rules, the payment state machine, gateways, callbacks, receipts, refunds."""
