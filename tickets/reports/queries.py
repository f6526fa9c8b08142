"""The supervisor reports by name, in page order, and running them; one builder function per report.

Every report covers the tickets *created* in the period, except CSAT, which covers the surveys
*answered* in the period. Each report runs a fixed number of GROUP BY / aggregate queries whatever
the data size (pinned in tests/reports); Python only reshapes the few aggregated rows. The builders
live in workload.py, outcomes.py, agents.py and platforms.py (which counts refunds,
orders and tickets by platform and day rather than tickets created only).
"""

from __future__ import annotations

from collections.abc import Callable

from aftersales.db_router import replica_reads

from .agents import agents
from .base import Report
from .outcomes import csat, defects, reopens, responsibility, returns
from .periods import Period
from .platforms import platforms
from .workload import response_times, sla, volume

# The catalogue, in page order ------------------------------------------------------------------------

REPORTS: dict[str, Callable[[Period], Report]] = {
    "volume": volume,
    "response_times": response_times,
    "sla": sla,
    "csat": csat,
    "reopens": reopens,
    "returns": returns,
    "defects": defects,
    "responsibility": responsibility,
    "agents": agents,
    "platforms": platforms,
}


# Every report is a read-only aggregate over finished work: it reads from the replica when there is one
# (aftersales/db_router.py), and only these two functions run them.


def report_run(name: str, period: Period) -> Report:
    with replica_reads():
        return REPORTS[name](period)


def reports_run_all(period: Period) -> list[Report]:
    with replica_reads():
        return [build(period) for build in REPORTS.values()]
