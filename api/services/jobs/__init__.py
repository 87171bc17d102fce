"""Jobs: dispatching them to runners, the callbacks their functions send, and the
append-only event log clients watch."""
