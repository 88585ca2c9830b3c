"""Coded datasets and the study's tables, regenerated from the store every time.

tables.py (the study's tables and the scope they are computed over), datasets.py (coded
long and wide datasets), checks.py (cross-checks that can fail), writing.py (CSV, XLSX and
Parquet with fixed bytes), aggregate.py (`cityqda aggregate` and the run's stage).
"""
