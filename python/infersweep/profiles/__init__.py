"""Calibrated runtime profiles (TOML), written by scripts/calibrate_profiles.py; `isw.shipped_profiles()`."""
