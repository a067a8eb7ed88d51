"""Tools for the people who write pattern files: test cases beside the rules (`gress test`).

`cases` reads a test file (TOML) and checks it against the pattern file; `verdict` runs a case
through the engine and compares what came out with what the case expects; `junit` writes the
results for CI systems.
"""
