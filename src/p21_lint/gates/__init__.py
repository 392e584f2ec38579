"""Gates: each turns what was found into one PASS / FAIL / SKIPPED / ERROR line of the verdict."""
