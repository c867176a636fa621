"""Shared foundations: settings, message models, errors, time, paths, metrics."""
