"""A demo district (the shape of Phụng Hiệp, Hậu Giang) and a fleet of simulated agents to fill it."""
