"""Built-in processors and the runner that hosts them."""
