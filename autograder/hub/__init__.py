"""JupyterHub with the courses: configuration, accounts, launcher."""
