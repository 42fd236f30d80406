"""MoE runners that check every request against the AITER feature set before dispatch."""
