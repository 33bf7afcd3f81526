"""County / township / village, with positions and office seats."""
