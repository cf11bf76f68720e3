"""``sds_check``: prove a deployment SDS-ready by making SDS's requests and its provider checks over HTTP.

An independent client: :mod:`.rules` (pure checks of objects and responses), :mod:`.client`
(token and GETs with ``requests``), :mod:`.runner` (the request sequence of oneroster-1.1.md §6),
:mod:`.report` (per-endpoint counts and failure examples). Nothing here imports the API it checks.
"""

from .report import EndpointStats, Report
from .runner import CheckConfig, run_check

__all__ = ["CheckConfig", "EndpointStats", "Report", "run_check"]
