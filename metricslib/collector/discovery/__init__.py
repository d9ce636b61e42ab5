"""Service discovery: static, file and DNS providers turn config into target groups, one module each."""
