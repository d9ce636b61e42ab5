"""PromQL text to a checked AST: lexer, tokens, parser, type checker and printer; no engine, no storage."""
