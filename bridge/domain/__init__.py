"""The pure core: INE, deadlines, account lifecycle. Standard library only; "now" and
"today" are always passed in, never read from the clock here."""
