"""The queue's search box: ticket number, order number, customer phone, name or platform account, or a
word of the customer's text.

One OR across the ticket, its order and its customer (the old way) had to read every ticket with its
joins: no index serves an OR that spans three tables. Each kind of match is looked up on its own index:
- ticket number: stored upper-case (AS00001234, given only by tickets/services.py), so the upper-cased
  value is looked up on the unique index: the case-insensitive match of before, index-served;
- order number: order_external_number_idx, then tickets by their order_id index;
- phone, platform account, name: the customer indexes (customers.Customer Meta.indexes),
  then tickets by their customer index;
- words: Chinese has no spaces, so the customer's text is cut by jieba into `search_text` whenever it
  is written (`ticket_search_text`, the same cut as the case library's, tickets/knowledge/search.py)
  and the query is cut the same way; every word must be there. PostgreSQL answers through the GIN
  index on search_vector, the stored to_tsvector('simple', search_text) (tickets migration
  0014_ticket_search_vector), SQLite (`make run`) by substring.

The search stops at the page it shows. The identifier matches are a handful of tickets: one query reads
their ids (a UNION of the look-ups above), and the queryset is filtered by `id IN (those ids) OR the
words`: a condition on the ticket's own row, which the view combines with the queue filter, sort and
page as with any other filter. The database then picks per query: for a rare word, the GIN index
(OR-ed with the ids on the primary key) and a sort of the few matches; for a word in a tenth of all
tickets, the queue's own order (ticket_created_idx, newest first) read until the page is full, the
words tested row by row. The old `id IN (UNION …)` read every match of a common word and sorted them
all before cutting the page (100,000 at 1,000,000 tickets). The page's count stops too: the view counts
at most MATCHES_COUNTED + 1 (tickets/selectors.py `ticket_page`), shown as "1,000+".
"""

from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from aftersales.words import on_postgresql, query_words, search_words
from customers.models import Customer
from orders.models import Order

from .models import Ticket

# The customer's words and the facts recorded from them: what a word search looks in.
SEARCH_TEXT_FIELDS = ("description", "customer_request", "symptom", "product_model")
# A search's matches are counted up to this many; more show as "1,000+" and the pages stop there (20
# pages of 50). At 1,000,000 tickets the count of a word in 10% of them reads ~9,400 rows (5 ms), in 1% the
# word's index entry and 1,001 rows (9 ms); counting to 10,000 would cost ten times that.
MATCHES_COUNTED = 1_000


def ticket_search_text(ticket) -> str:
    """What `Ticket.search_text` holds: the words of SEARCH_TEXT_FIELDS, cut by jieba, joined by spaces.
    Call it wherever one of those fields is written (tickets/services.py)."""
    return " ".join(search_words("\n".join(getattr(ticket, name) or "" for name in SEARCH_TEXT_FIELDS)))


class _HasWords(Func):
    """search_vector @@ plainto_tsquery('simple', words). search_vector is the stored, position-free
    to_tsvector('simple', search_text) that the GIN index holds (tickets migration 0014_ticket_search_vector):
    a column of PostgreSQL's only, which the model does not know. An expression, not RawSQL, so the column is
    written with the alias of whichever (sub)query it ends up in: that of search_text, its neighbour."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        column, words = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        words_sql, words_params = compiler.compile(words)
        table = column_sql.removesuffix(connection.ops.quote_name("search_text"))
        vector = table + connection.ops.quote_name("search_vector")
        return f"{vector} @@ plainto_tsquery('simple', {words_sql})", [*column_params, *words_params]


def _words_condition(words: list[str]):
    if on_postgresql():
        # plainto_tsquery ANDs the words. A common word's page is read in the queue's order, testing row
        # after row, and so is its count (up to MATCHES_COUNTED): on the stored vector a test is a look-up.
        return Q(_HasWords(F("search_text"), Value(" ".join(words))))
    condition = Q()
    for word in words:
        condition &= Q(search_text__icontains=word)
    return condition


def _identified_ids(value: str) -> list[int]:
    """The ids of the tickets `value` names by number, order number, or the customer's phone, platform
    account or name: one index look-up per kind, as one UNION. A few tickets in practice (a customer's);
    read newest first and bounded, so even a name thousands share cannot make the query unbounded."""
    tickets = Ticket.objects.order_by()  # no ORDER BY inside a UNION branch
    customers = Customer.objects.order_by().filter(Q(phone=value) | Q(platform_account=value) | Q(name=value))
    branches = [
        tickets.filter(number=value.upper()).values("pk"),
        tickets.filter(order__in=Order.objects.order_by().filter(external_number=value).values("pk")).values("pk"),
        tickets.filter(customer__in=customers.values("pk")).values("pk"),
    ]
    found = branches[0].union(*branches[1:]).order_by("-pk")[:MATCHES_COUNTED + 1]
    return [row["pk"] for row in found]


def tickets_search(queryset: QuerySet[Ticket], value: str) -> QuerySet[Ticket]:
    """The tickets of `queryset` that `value` finds (module docstring): one query for the identifier look-ups;
    a word alone is a condition on the ticket row for the caller's query."""
    value = value.strip()
    if not value:
        return queryset
    words = query_words(value)  # none for punctuation alone
    ids = _identified_ids(value)
    if not ids:
        return queryset.filter(_words_condition(words)) if words else queryset.none()
    if words:
        # Both kinds may match (a name that is also a word): the word's matches as ids too, newest first and
        # bounded like the count. OR-ed with the ids on the ticket row instead, the planner walked every
        # ticket for an order number or a phone (500 ms at 1,000,000 tickets).
        ids += Ticket.objects.filter(_words_condition(words)).order_by("-pk").values_list("pk", flat=True)[
            :MATCHES_COUNTED + 1]
    return queryset.filter(pk__in=ids)
