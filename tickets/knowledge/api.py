"""The case library: knowledge articles drawn from archived cases, searchable in Chinese; FAQ.

Who may do what is tickets.policies (articles_visible_to, article_get_for_user, ensure_article_writer):
agents, senior agents and supervisors write; department staff read published articles; admins read.
Search results are ranked on PostgreSQL, so the list is paginated by page (a cursor would impose
its own order).
"""

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from aftersales.api import StrictInput, StrictPageSize

from ..models import Category, TicketType
from ..policies import ensure_article_writer, ticket_get_for_user
from . import services
from .models import KnowledgeArticle
from .policies import article_get_for_user, articles_visible_to
from .selectors import articles_search

MAX_ID = 2**63 - 1  # ids are 64-bit; anything larger cannot name a row


class ArticlePagination(StrictPageSize, PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


class ArticleSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    author = serializers.CharField(source="author.username", default=None, allow_null=True, read_only=True)
    # Blank when the article is general; named `type` as on tickets, with the same choices.
    category = serializers.ChoiceField(choices=Category.choices, allow_blank=True, read_only=True)
    type = serializers.ChoiceField(source="ticket_type", choices=TicketType.choices, allow_blank=True, read_only=True)

    class Meta:
        model = KnowledgeArticle
        fields = [
            "id", "title", "body", "language", "category", "type", "tags", "is_faq", "status",
            "source_ticket", "author", "created_at", "updated_at", "published_at",
        ]
        read_only_fields = fields


class ArticleWriteSerializer(StrictInput, serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=50000)
    language = serializers.ChoiceField(choices=settings.LANGUAGES)
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True, default="")
    type = serializers.ChoiceField(
        source="ticket_type", choices=TicketType.choices, required=False, allow_blank=True, default=""
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list,
                                 max_length=30)
    is_faq = serializers.BooleanField(required=False, default=False)


class ArticleListQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200,
                              help_text=_("Words to find (Chinese is cut into words; every word must appear)."))
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, allow_blank=True)
    faq = serializers.BooleanField(required=False, allow_null=True, default=None,
                                   help_text=_("true: public FAQ articles only; false: internal articles only."))
    status = serializers.ChoiceField(choices=KnowledgeArticle.Status.choices, required=False, allow_blank=True)


class DraftFromTicketSerializer(StrictInput, serializers.Serializer):
    ticket = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=_("A closed or archived ticket."))
    language = serializers.ChoiceField(choices=settings.LANGUAGES)


class KnowledgeArticleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Knowledge articles: search, read, write drafts, publish, and draft from a finished case."""

    serializer_class = ArticleSerializer
    pagination_class = ArticlePagination
    filter_backends: list = []  # filters are the query serializer's (validated, documented below)
    queryset = KnowledgeArticle.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]  # PATCH edits; no PUT, no DELETE

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        params = ArticleListQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        articles = articles_search(
            query=data.get("q", ""), language=data.get("language") or None, category=data.get("category", ""),
            published_only=False, status=data.get("status", ""),
        )
        if data.get("faq") is not None:
            articles = articles.filter(is_faq=data["faq"])
        return articles_visible_to(self.request.user, articles)

    def get_object(self):
        return article_get_for_user(
            user=self.request.user, article_id=self.kwargs["pk"], for_write=self.request.method != "GET"
        )

    def _fresh(self, article, status_code=status.HTTP_200_OK) -> Response:
        article = article_get_for_user(user=self.request.user, article_id=article.pk)
        return Response(ArticleSerializer(article).data, status=status_code)

    @extend_schema(parameters=[ArticleListQuerySerializer])
    def list(self, request, *args, **kwargs):
        """Search and filter; best match first on PostgreSQL, most recently updated first otherwise."""
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ArticleWriteSerializer, responses={201: ArticleSerializer})
    def create(self, request, *args, **kwargs):
        """A new draft (agents, senior agents, supervisors)."""
        ensure_article_writer(self.request.user)
        serializer = ArticleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        article = services.article_create(author=request.user, **serializer.validated_data)
        return self._fresh(article, status.HTTP_201_CREATED)

    @extend_schema(request=ArticleWriteSerializer, responses={200: ArticleSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Edit title, text, language, category, type, FAQ flag or tags: only the fields sent change
        (`tags` replaces the tag list)."""
        article = self.get_object()
        serializer = ArticleWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        article = services.article_update(article=article, actor=request.user, tags=data.pop("tags", None), **data)
        return self._fresh(article)

    @extend_schema(request=None, responses={200: ArticleSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Visible to department staff and suggested on tickets; on the public FAQ when `is_faq`."""
        article = services.article_publish(article=self.get_object(), actor=request.user)
        return self._fresh(article)

    @extend_schema(request=None, responses={200: ArticleSerializer})
    @action(detail=True, methods=["post"])
    def unpublish(self, request, pk=None):
        """Back to draft: off the FAQ and the suggestions."""
        article = services.article_unpublish(article=self.get_object(), actor=request.user)
        return self._fresh(article)

    @extend_schema(
        request=DraftFromTicketSerializer,
        responses={201: ArticleSerializer, 400: OpenApiResponse(description="Refused; field messages say why.")},
    )
    @action(detail=False, methods=["post"], url_path="from-ticket")
    def from_ticket(self, request):
        """An anonymised draft from a closed or archived ticket with its summary."""
        ensure_article_writer(self.request.user)
        serializer = DraftFromTicketSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            ticket = ticket_get_for_user(user=request.user, ticket_id=data["ticket"])
        except Http404:
            # Missing and not visible read the same: the ticket's existence is not revealed.
            raise serializers.ValidationError({"ticket": [_("No such ticket.")]}, code="does_not_exist") from None
        article = services.article_draft_from_ticket(ticket=ticket, actor=request.user, language=data["language"])
        return self._fresh(article, status.HTTP_201_CREATED)
