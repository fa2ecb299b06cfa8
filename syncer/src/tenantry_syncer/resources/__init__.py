"""One module per synced kind. Translation functions are pure (manifest in, manifest out);
the controllers that read and write the API servers live apart from them."""
