"""The message centre: in-app notifications per user, optional e-mail."""
