"""Intake at a counter or by post: persons, drafts entered by an officer, the chip CCCD QR, digitisation."""
