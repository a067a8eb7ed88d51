"""Conformance suite: what every pattern construct must do, written as tables of cases."""
