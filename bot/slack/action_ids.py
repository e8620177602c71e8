"""Every Slack identifier the app registers: action ids, callback ids and the slash command."""

DISMISS_FINDING = "social_review.dismiss_finding"
REVIEW_SHORTCUT = "social_review.review_message"
SLASH_COMMAND = "/social-review"
