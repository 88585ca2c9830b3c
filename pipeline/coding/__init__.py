"""Codings in the store: suggestions with their identity across re-codes, re-ingests and
codebook versions; review decisions and the status derived from them; actors, initiatives
and partnerships recognised in the segments. The `code` stage is `pipeline.code_study`.
"""
