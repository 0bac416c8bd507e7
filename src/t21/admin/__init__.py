"""Instance administration (issue 17, "self-hosted means unlocked"): whoever runs the install
lists the people on it, sees their usage, disables or re-enables them and resends their
verification email. Only users with users.is_admin (t21 create-user --admin, t21 make-admin) may;
nobody becomes admin by signing up, not even the first person on a fresh install (an install
reachable from the internet would otherwise belong to whoever signs up first)."""
