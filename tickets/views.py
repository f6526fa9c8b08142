from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from .policies import tickets_visible_to
from .selectors import ticket_list


@login_required
def ticket_queue(request):
    """The open-ticket queue, newest first (the full workspace comes with the browser issue)."""
    tickets = ticket_list(tickets_visible_to(request.user).open()).order_by("-created_at", "-id")
    page = Paginator(tickets, 50).get_page(request.GET.get("page"))
    return render(request, "tickets/queue.html", {"page": page})
