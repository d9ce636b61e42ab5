"""PromQL: a pure parser (lexer, parser, ast) and a numpy engine over the Querier interface."""
