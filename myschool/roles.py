"""The two staff roles, as Django groups whose permissions migrations grant.

Views and admin never test group names: they test permissions (``myschool.access_all_schools``
and the model permissions). The names live here for the commands that put users in groups.
"""

SUPPORT_GROUP = "Support"
SCHOOL_ADMINISTRATORS_GROUP = "School administrators"
