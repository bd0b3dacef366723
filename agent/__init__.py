"""The conversational brain: one customer turn in, one TurnResult out (issue 4)."""
