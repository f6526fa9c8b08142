"""The queue's search box: ticket number, order number, customer phone, name or platform account, or a
word of the customer's text.

One OR across the ticket, its order and its customer (the old way) had to read every ticket with its
joins: no index serves an OR that spans three tables. Each kind of match is looked up on its own
index instead, and the branches meet as a UNION of ticket ids that the queryset is filtered by
(`id IN (…)`), so the view still adds the queue filter, ordering and pagination to it:
- ticket number: stored upper-case (AS00001234, given only by tickets/services.py), so the upper-cased
  value is looked up on the unique index: the case-insensitive match of before, index-served;
- order number: order_external_number_idx, then tickets by their order_id index;
- phone, platform account, name: the customer indexes (customers.Customer Meta.indexes),
  then tickets by their customer index;
- words: Chinese has no spaces, so the customer's text is cut by jieba into `search_text` whenever it
  is written (`ticket_search_text`, the same cut as the case library's, tickets/knowledge/search.py)
  and the query is cut the same way; every word must be there. PostgreSQL answers through the GIN
  index on to_tsvector('simple', search_text) (tickets migration 0003_postgresql), SQLite (`make run`) by substring.
"""

from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from aftersales.words import on_postgresql, query_words, search_words
from customers.models import Customer
from orders.models import Order

from .models import Ticket

# The customer's words and the facts recorded from them: what a word search looks in.
SEARCH_TEXT_FIELDS = ("description", "customer_request", "symptom", "product_model")


def ticket_search_text(ticket) -> str:
    """What `Ticket.search_text` holds: the words of SEARCH_TEXT_FIELDS, cut by jieba, joined by spaces.
    Call it wherever one of those fields is written (tickets/services.py)."""
    return " ".join(search_words("\n".join(getattr(ticket, name) or "" for name in SEARCH_TEXT_FIELDS)))


class _HasWords(Func):
    """to_tsvector('simple', search_text) @@ plainto_tsquery('simple', words): exactly the indexed
    expression of tickets migration 0003_postgresql, or the planner cannot use the index. An expression, not RawSQL, so
    the column is written with the alias of whichever (sub)query it ends up in."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        column, words = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        words_sql, words_params = compiler.compile(words)
        return (f"to_tsvector('simple', {column_sql}) @@ plainto_tsquery('simple', {words_sql})",
                [*column_params, *words_params])


def _words_condition(words: list[str]):
    if on_postgresql():
        return _HasWords(F("search_text"), Value(" ".join(words)))  # plainto_tsquery ANDs the words
    condition = Q()
    for word in words:
        condition &= Q(search_text__icontains=word)
    return condition


def _matching_ids(value: str) -> QuerySet:
    """The ids of the tickets `value` finds, one index look-up per kind of match, as one UNION."""
    tickets = Ticket.objects.order_by()  # no ORDER BY inside a UNION or an IN (…)
    customers = Customer.objects.order_by().filter(Q(phone=value) | Q(platform_account=value) | Q(name=value))
    branches = [
        tickets.filter(number=value.upper()).values("pk"),
        tickets.filter(order__in=Order.objects.order_by().filter(external_number=value).values("pk")).values("pk"),
        tickets.filter(customer__in=customers.values("pk")).values("pk"),
    ]
    words = query_words(value)
    if words:  # punctuation alone has no words
        branches.append(tickets.filter(_words_condition(words)).values("pk"))
    return branches[0].union(*branches[1:])


def tickets_search(queryset: QuerySet[Ticket], value: str) -> QuerySet[Ticket]:
    value = value.strip()
    if not value:
        return queryset
    return queryset.filter(pk__in=_matching_ids(value))
