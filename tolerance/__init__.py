"""The internal-scale tolerance model (NumPy/SciPy only; never imports torch).

A data scale distribution on the log2 axis, padded with half-normal tails, is
approximated by an equal-weight mixture of normals (one per internal scale, std
τ octaves) fitted by KL minimisation. See the thesis §3.2 and DESIGN.md §2.
"""
