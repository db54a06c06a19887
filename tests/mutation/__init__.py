"""Data for the autograder tests: correct alternative solutions and equivalent mutants."""
