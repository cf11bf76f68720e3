"""What an SDS readiness check found, per endpoint, and its printed form.

A :class:`Report` maps an endpoint label (``GET /users``, ``GET /schools/{id}/classes``,
``POST token``) to :class:`EndpointStats`: requests sent (429 retries included), records
received and checked, failure messages, or a reason the endpoint was skipped. The check passes
when no endpoint has a failure and nothing aborted it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EndpointStats:
    """Counts for one endpoint label; ``slowest`` is the longest response time in seconds."""

    label: str
    requests: int = 0
    records: int = 0
    slowest: float = 0.0
    failures: list[str] = field(default_factory=list)
    skipped: str = ""


@dataclass
class Report:
    """Everything one check found; ``target`` names the base URL and client for the header line."""

    target: str
    endpoints: dict[str, EndpointStats] = field(default_factory=dict)
    aborted: str = ""

    def stats(self, label: str) -> EndpointStats:
        """The stats of ``label``, created on first use (the report keeps first-use order)."""
        if label not in self.endpoints:
            self.endpoints[label] = EndpointStats(label)
        return self.endpoints[label]

    @property
    def failure_count(self) -> int:
        return sum(len(stats.failures) for stats in self.endpoints.values()) + (1 if self.aborted else 0)

    @property
    def passed(self) -> bool:
        return self.failure_count == 0

    def lines(self, examples: int = 5) -> list[str]:
        """The printed report: a header, one line per endpoint, totals, the verdict, failure examples."""
        width = max([len(label) for label in self.endpoints] + [len("endpoint")])
        out = [
            f"SDS readiness check of {self.target}",
            "",
            f"{'endpoint':<{width}}  {'requests':>8}  {'records':>9}  {'slowest':>8}  failures",
        ]
        for stats in self.endpoints.values():
            result = f"skipped: {stats.skipped}" if stats.skipped else str(len(stats.failures))
            out.append(
                f"{stats.label:<{width}}  {stats.requests:>8,}  {stats.records:>9,}  {stats.slowest:>7.2f}s  {result}"
            )
        requests = sum(stats.requests for stats in self.endpoints.values())
        records = sum(stats.records for stats in self.endpoints.values())
        out.append(f"{'total':<{width}}  {requests:>8,}  {records:>9,}  {'':>8}  {self.failure_count}")
        out.append("")
        if self.aborted:
            out.append(f"ABORTED: {self.aborted}")
        if self.passed:
            out.append("RESULT: PASS - every check SDS makes succeeded")
            return out
        out.append(f"RESULT: FAIL - {self.failure_count} failure(s)")
        for stats in self.endpoints.values():
            if not stats.failures:
                continue
            out.append(f"{stats.label} ({len(stats.failures)} failure(s), first {min(examples, len(stats.failures))}):")
            out += [f"  - {message}" for message in stats.failures[:examples]]
        return out
