"""Recall effectiveness (召回效果): progress reported per distribution level, and
the serial-level evidence of the one-item-one-code scans."""
