//! Embedding examples; the DApp backend arrives with the embedding-API issue.
