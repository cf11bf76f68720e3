"""Microsoft tenant integrations: the onboarding workflow, the credential handoff and sync health.

- :mod:`.services` — support's writes (request → features mapped → accepted → credentials issued
  → active; resend/rotate, suspend, resume), each a guarded transition logged as an ``IntegrationEvent``;
- :mod:`.handoff` — the key contact's side: reveal and confirm on the handoff page, and expiry;
- :mod:`.crypto` — the link's token, the secret's encryption, the wrong-token rate limit;
- :mod:`.emails` — the email carrying the link;
- :mod:`.selectors` — sync health reads shared by the admin and the alerts;
- :mod:`.health` — recording API activity and alerting support about silent integrations.
"""
