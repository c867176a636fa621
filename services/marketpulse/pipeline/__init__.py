"""The transport-agnostic core (batch → validate → classify → records) and the runners around it."""
