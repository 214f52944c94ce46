"""Training side: config, corpus, baseline fit, fine-tuning, evaluation, reports and the CLI.

Example:
    stance train --config configs/us_sanctions.yaml
"""
