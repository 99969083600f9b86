"""Operator-side tools (no ``aws_cdk``): dataset validation, training metrics, SDK v3 notebooks, reward checks."""
