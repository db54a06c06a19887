"""Hostile submissions for the batch grader, and the small course they are graded in."""
