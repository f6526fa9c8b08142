"""The header's language switch: Django's own (the cookie, back to the page), and for a signed-in person
their choice is kept on their profile, so every browser they use speaks it."""

from django.conf import settings
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from ..models import StaffProfile


@require_POST
def language_set(request):
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        StaffProfile.objects.filter(user=request.user).update(language=language)
    return response
