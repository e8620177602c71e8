"""Company policies that depend on the calendar and the clock, kept pure: the clock is passed in."""
