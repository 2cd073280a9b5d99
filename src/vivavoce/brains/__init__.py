"""What produces the assistant's turn: the local cascade, or a relay upstream."""
