"""Database pieces the reports need and Django lacks: a percentile aggregate and durations in hours.

PostgreSQL has `percentile_cont` built in. SQLite (the embedded default of `make run`) has none, so
`register_sqlite_functions` adds one, written in Python, to every new SQLite connection
(`connection_created`, connected in tickets/apps.py): the same single GROUP BY query then runs on
both databases and the report code never loops over tickets.
"""

from __future__ import annotations

import json
import math

from django.db import NotSupportedError
from django.db.models import Aggregate, Field, FloatField, Func

SQLITE_PERCENTILE = "aftersales_percentile_cont"
SQLITE_PERCENTILES = "aftersales_percentiles_cont"


class Percentile(Aggregate):
    """The continuous percentile (linear interpolation, like PostgreSQL's percentile_cont) of a
    numeric expression; NULLs are ignored and an empty group gives NULL. `filter=` works as usual."""

    name = "Percentile"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        self.fraction = fraction
        super().__init__(expression, **extra)

    def _for_vendor(self, function: str, template: str):
        # A copy with the vendor's SQL, not `template=` in extra_context: Aggregate.as_sql wraps
        # self.template in FILTER (WHERE ...) itself and would receive `template` twice.
        clone = self.copy()
        clone.function, clone.template = function, template
        return clone

    def as_postgresql(self, compiler, connection, **extra_context):
        # The fraction is a validated float written as a literal: it is the aggregate's direct argument.
        clone = self._for_vendor(
            "percentile_cont", f"%(function)s({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)"
        )
        return super(Percentile, clone).as_sql(compiler, connection, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        clone = self._for_vendor(SQLITE_PERCENTILE, f"%(function)s(%(expressions)s, {self.fraction!r})")
        return super(Percentile, clone).as_sql(compiler, connection, **extra_context)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"Percentile is not implemented for {connection.vendor}")


class FloatListField(Field):
    """A list of floats read back from the database: float8[] on PostgreSQL, JSON text on SQLite."""

    def get_internal_type(self):
        return "FloatListField"

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str):
            return json.loads(value)
        return value


class Percentiles(Aggregate):
    """Several continuous percentiles of one expression from a single sort: a list of floats in the
    order of `fractions` (half the work of two Percentile()s). An empty group gives NULL on
    PostgreSQL and a list of Nones on SQLite: read it with `percentiles_or_none`."""

    name = "Percentiles"
    output_field = FloatListField()

    def __init__(self, expression, fractions, **extra):
        fractions = tuple(float(f) for f in fractions)
        if not fractions or not all(0.0 <= f <= 1.0 for f in fractions):
            raise ValueError("fractions must be between 0 and 1")
        self.fractions = fractions
        super().__init__(expression, **extra)

    def _for_vendor(self, function: str, template: str):
        clone = self.copy()  # see Percentile._for_vendor
        clone.function, clone.template = function, template
        return clone

    def as_postgresql(self, compiler, connection, **extra_context):
        array = "ARRAY[" + ", ".join(repr(f) for f in self.fractions) + "]::double precision[]"
        clone = self._for_vendor("percentile_cont", f"%(function)s({array}) WITHIN GROUP (ORDER BY %(expressions)s)")
        return super(Percentiles, clone).as_sql(compiler, connection, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        fractions = ",".join(repr(f) for f in self.fractions)
        clone = self._for_vendor(SQLITE_PERCENTILES, f"%(function)s(%(expressions)s, '{fractions}')")
        return super(Percentiles, clone).as_sql(compiler, connection, **extra_context)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"Percentiles is not implemented for {connection.vendor}")


def percentiles_or_none(values, count: int) -> list[float | None]:
    return list(values) if values else [None] * count


class HoursBetween(Func):
    """Wall-clock hours from `earlier` to `later` as a float (NULL when either is NULL)."""

    output_field = FloatField()
    arity = 2

    def __init__(self, later, earlier, **extra):
        super().__init__(later, earlier, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        # date_part gives double precision (EXTRACT gives numeric, which percentile_cont would sort slower).
        return super().as_sql(
            compiler, connection, template="(date_part('epoch', %(expressions)s) / 3600.0)", arg_joiner=" - ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores aware datetimes as UTC text; julianday() reads it to ~10 µs, plenty for 0.1 h.
        later, earlier = self.get_source_expressions()
        later_sql, later_params = compiler.compile(later)
        earlier_sql, earlier_params = compiler.compile(earlier)
        return f"((julianday({later_sql}) - julianday({earlier_sql})) * 24.0)", (*later_params, *earlier_params)

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"HoursBetween is not implemented for {connection.vendor}")


class PercentileCont:
    """SQLite aggregate: percentile_cont(value, fraction), same interpolation as PostgreSQL."""

    def __init__(self):
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value, fraction):
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self):
        return percentile_cont(self.values, self.fraction)


class PercentilesCont(PercentileCont):
    """SQLite aggregate: percentiles_cont(value, '0.5,0.9') -> JSON list, one sort for all fractions."""

    def step(self, value, fractions):
        self.fraction = fractions
        if value is not None:
            self.values.append(float(value))

    def finalize(self):
        fractions = [float(f) for f in str(self.fraction).split(",")]
        ordered = sorted(self.values)
        return json.dumps([percentile_cont(ordered, f, presorted=True) for f in fractions])


def percentile_cont(values: list[float], fraction: float, *, presorted: bool = False) -> float | None:
    if not values:
        return None
    ordered = values if presorted else sorted(values)
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def register_sqlite_functions(sender, connection, **kwargs):
    """connection_created receiver: give every SQLite connection the percentile aggregate."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_PERCENTILE, 2, PercentileCont)
        connection.connection.create_aggregate(SQLITE_PERCENTILES, 2, PercentilesCont)
