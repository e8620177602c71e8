"""Every Slack identifier the app registers: action ids, callback ids and the slash command."""

DISMISS_FINDING = "social_review.dismiss_finding"
REVIEW_SHORTCUT = "social_review.review_message"
SLASH_COMMAND = "/social-review"
TIME_COMMAND = "/social-time"

# Approval requests (issue 4): the button value is the approval id.
APPROVE = "social_review.approval.approve"
APPROVE_WITH_COMMENT = "social_review.approval.approve_comment"
REJECT = "social_review.approval.reject"
APPROVE_MODAL = "social_review.approval.approve_modal"
REJECT_MODAL = "social_review.approval.reject_modal"
NOTE_BLOCK = "social_review.approval.note_block"
NOTE_INPUT = "social_review.approval.note"

# Follow policy (issue 6): /social-follow opens a modal; its answer replaces the form.
FOLLOW_COMMAND = "/social-follow"
FOLLOW_MODAL = "social_review.follow.modal"
FOLLOW_HANDLE_BLOCK = "social_review.follow.handle_block"
FOLLOW_HANDLE_INPUT = "social_review.follow.handle"
FOLLOW_KIND_BLOCK = "social_review.follow.kind_block"
FOLLOW_KIND_INPUT = "social_review.follow.kind"
FOLLOW_FOLLOWED_BLOCK = "social_review.follow.followed_block"
FOLLOW_FOLLOWED_INPUT = "social_review.follow.followed"
