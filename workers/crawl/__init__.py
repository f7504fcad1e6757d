"""Site crawls: links, scope, the seen set, traps, and telling hubs from articles."""
