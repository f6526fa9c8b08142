"""The desk speaks the shop's language (LANGUAGE_CODE) or the person's own choice, not whatever language
the browser happens to send: a Chinese shop's agent on an English browser still gets a Chinese desk.
Public pages (the customer's link, the FAQ) and the API keep following the visitor's Accept-Language."""

from django.conf import settings
from django.utils import translation

from .models import StaffProfile


class DeskLanguageMiddleware:
    """After LocaleMiddleware and AuthenticationMiddleware. The chosen language is kept in the language
    cookie (the header's switch sets it too), so only a person's first page asks the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cookie = settings.LANGUAGE_COOKIE_NAME
        if (not request.user.is_authenticated or request.path.startswith("/api/")
                or cookie in request.COOKIES):
            return self.get_response(request)
        language = (StaffProfile.objects.filter(user=request.user).values_list("language", flat=True).first()
                    or settings.LANGUAGE_CODE)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.set_cookie(cookie, language, max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax",
                            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY)
        return response
