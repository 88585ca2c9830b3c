"""REFI-QDA exchange with other QDA tools (NVivo, ATLAS.ti, MAXQDA, QualCoder...).

`model` is the neutral data model; `qdpx_writer` and `qdpx_reader` write and read projects
(.qdpx), `qdc` codebooks (.qdc); `validate` checks any of them against the official schemas;
`untrusted` holds the guards every reader goes through.
"""
