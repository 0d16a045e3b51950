"""`reputation bounce`: bounce messages read, their causes named and tied to the live check."""
