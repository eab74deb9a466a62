"""Search of the archive: vocabulary, query analysis, index, vectors, match, answers."""
