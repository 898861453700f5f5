"""lsg-demo: a simulated programme year driven through the services' public doors."""
