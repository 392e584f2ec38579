"""The route table: every HTTP endpoint of the project, read statically from the source (never imported).

Per file, collectors record small facts (facts.py); the project pass joins them across modules (table.py).
"""
