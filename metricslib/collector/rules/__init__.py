"""Recording and alerting rules: rule files, evaluation, alert state and the manager that runs them."""
