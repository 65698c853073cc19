"""Server logic, independent of HTTP and the command line."""
