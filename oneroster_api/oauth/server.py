"""The oauthlib server behind the token endpoint and the API (``OAUTH2_PROVIDER["OAUTH2_SERVER_CLASS"]``).

oneroster-1.1.md §1: SDS uses the ``client_credentials`` grant only. oauthlib's
``BackendApplicationServer`` knows no other grant, so ``grant_type=password`` (or any other)
is answered ``unsupported_grant_type`` (400) before the client is authenticated or a user is
looked up: the answer is the same whatever the username and password, and costs no hashing.
It also carries the bearer-token resource endpoint the API's authentication uses.
"""

from oauthlib.oauth2 import BackendApplicationServer

ClientCredentialsServer = BackendApplicationServer
