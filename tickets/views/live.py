"""One poll of an open page (static/js/live.js): the stamp of what it shows, the unread count, and on a
ticket page who else is there. Cheap (one or two small queries), and it never writes to the database."""

from django import forms
from django.http import Http404, JsonResponse
from django.views.decorators.http import require_POST

from ..live import desk_stamp, presence_others, presence_touch, replies_by_others, ticket_stamp_for
from ..policies import desk_required, tickets_visible_to


class LiveForm(forms.Form):
    ticket = forms.IntegerField(required=False, min_value=1)
    stamp = forms.CharField(required=False, max_length=100)
    typing = forms.BooleanField(required=False)
    seen_message = forms.IntegerField(required=False, min_value=0)


@require_POST
@desk_required
def live(request):
    form = LiveForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    data = form.cleaned_data
    answer = {"unread": request.user.notifications.filter(read_at__isnull=True).count()}
    ticket_id = data["ticket"]
    if ticket_id is None:
        answer["stamp"] = desk_stamp()
        return JsonResponse(answer)
    stamp = ticket_stamp_for(tickets_visible_to(request.user), ticket_id)
    if stamp is None:
        raise Http404
    presence_touch(ticket_id=ticket_id, user=request.user, typing=data["typing"])
    answer.update(stamp=stamp, presence=presence_others(ticket_id=ticket_id, user=request.user))
    if stamp != data["stamp"] and data["seen_message"] is not None:
        answer["replied"] = replies_by_others(ticket_id=ticket_id, user=request.user,
                                              after_message_id=data["seen_message"])
    return JsonResponse(answer)
