"""Risk early warning (风险信号, SPEC §10): daily series, detectors, signals."""
