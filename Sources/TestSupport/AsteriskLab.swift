// The real Asterisk and sipp helpers live in AsteriskLab (the benchmarks use them too); tests get them from here.
@_exported import AsteriskLab
