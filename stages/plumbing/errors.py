"""The one exception a user sees as a line of text instead of a stack trace."""


class UserError(Exception):
    """A problem the user can fix (a param, a missing file or package); printed as one line."""
