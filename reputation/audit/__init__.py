"""Audits: many senders checked in one run, every run stored, changes between runs reported."""
