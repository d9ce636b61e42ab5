"""Notifier stage: alerts from the rule evaluator, relabelled and sent to Alertmanagers."""
