"""The composition root: builds every client and component once, passes them down, owns the close order."""

from __future__ import annotations

import socket
import sys
import uuid

from bot.config import Settings
from bot.domain.access import Allowlist
from bot.domain.commit import StoreRetry
from bot.domain.context import ImagePolicy
from bot.domain.conversation import Conversation, ReplyOptions
from bot.domain.image import Detail
from bot.domain.images import ImageOptions, Painter
from bot.domain.learning import Learner
from bot.domain.models import ModelCatalog
from bot.domain.personas import PersonaCatalog, PromptLimit
from bot.domain.ports import PhotoOutbox
from bot.domain.speech import Listener
from bot.domain.summary import Summarizer
from bot.domain.tokens import TokenCounter
from bot.domain.tools import ToolLimits
from bot.domain.usage import Budgets, PriceTable
from bot.domain.vision import Vision
from bot.ingress.runtime import Runtime
from bot.ingress.stream import UpdateStream
from bot.metrics import Metrics
from bot.model.deferred import DeferredModel
from bot.model.toolsupport import SharedToolSupport
from bot.store.access import AccessLists
from bot.store.albums import Albums
from bot.store.capabilities import ModelCapabilities
from bot.store.connection import connect
from bot.store.gate import Gatekeeper
from bot.store.history import RedisHistory
from bot.store.images import DailyImages
from bot.store.keys import Keys
from bot.store.latest import LatestAnswers
from bot.store.lock import ChatLock
from bot.store.notices import Notices
from bot.store.reminders import RedisReminders
from bot.store.replies import Replies
from bot.store.stats import StatsBook
from bot.store.usage import USAGE_TTL_SECONDS, UsageLedger
from bot.telegram.application import GroupAdministrators, build_application, register
from bot.telegram.context import Retention, Services
from bot.telegram.courier import ReminderCourier
from bot.telegram.files import TelegramFiles
from bot.telegram.i18n import language
from bot.telegram.images import Images
from bot.telegram.media import MediaRules
from bot.telegram.pacing import Pacer
from bot.telegram.photos import TelegramPhotos
from bot.telegram.ratelimit import RedisRateLimiter
from bot.telegram.reader import Reader
from bot.telegram.sink import Cadence
from bot.telegram.transport import AiohttpRequest
from bot.tools.clock import CurrentTime
from bot.tools.fetch import FetchUrl
from bot.tools.images import GenerateImage
from bot.tools.mcp.config import McpServerConfig
from bot.tools.mcp.servers import McpServers
from bot.tools.registry import ToolFactory, build_toolbox
from bot.tools.reminders import reminder_tools
from bot.tools.search import WebSearch

# Updates one replica handles at once; most of a turn is waiting on the model, so this can be large.
INGRESS_CONCURRENCY = 1000
TELEGRAM_CONNECTIONS = 32


def build_runtime(settings: Settings, personas: PersonaCatalog,
                  mcp_servers: tuple[McpServerConfig, ...] = ()) -> Runtime:
    """Build clients, domain and the PTB Application; nothing is connected yet."""
    redis = connect(settings.redis_url)
    keys = Keys(f"tg:{settings.bot_id}")
    prices = PriceTable(settings.model_prices)
    metrics = Metrics(prices, models=_metered_models(settings))
    stats = StatsBook(redis, keys)
    counter = TokenCounter(settings.openai_model)
    capabilities = ModelCapabilities(redis, keys)
    model = DeferredModel(settings.openai_api_key, settings.openai_base_url, settings.openai_timeout_seconds,
                          metrics, preload=counter.load, tool_support=SharedToolSupport(capabilities))
    ledger = UsageLedger(redis, keys, Budgets(settings.daily_token_budget_per_user,
                                              settings.daily_token_budget_per_chat, settings.operator_ids),
                         stats=stats)
    history = RedisHistory(redis, keys, ledger, settings.history_ttl_seconds, settings.settings_ttl_seconds)
    reminders = RedisReminders(redis, keys)
    painter = _painter(settings, model, DailyImages(redis, keys), ledger, metrics)
    # The summary is asked like the answers: without what its model was learnt to refuse.
    summarizer = Summarizer(history, ledger, Learner(model, capabilities).asking(), counter,
                            model_name=settings.summary_model, budget=settings.context_max_tokens,
                            max_tokens=settings.summary_max_tokens, observer=metrics)
    models = ModelCatalog(settings.model_choices, settings.openai_model)
    requests = (AiohttpRequest(connection_pool_size=TELEGRAM_CONNECTIONS, pool_timeout=10.0,
                               observe=metrics.telegram_call),
                AiohttpRequest(connection_pool_size=1, observe=metrics.telegram_call))
    limiter = RedisRateLimiter(redis, keys, per_second=settings.telegram_messages_per_second,
                               max_in_flight=TELEGRAM_CONNECTIONS)
    application = build_application(settings.telegram_bot_token, settings.telegram_api_url, requests, limiter)
    toolbox = build_toolbox(settings.tools,
                            _tool_factories(settings, reminders, painter, TelegramPhotos(application.bot)))
    files = TelegramFiles(application.bot)
    images = Images(files, Detail(settings.image_detail))
    conversation = Conversation(
        history=history, ledger=ledger, model=model, lock=ChatLock(redis, keys), counter=counter,
        summarizer=summarizer, personas=personas, options=_reply_options(settings),
        moderator=model if settings.moderation else None, observer=metrics,
        store_retry=StoreRetry(settings.delivery_give_up_seconds), toolbox=toolbox,
        tool_limits=ToolLimits(settings.tool_timeout_seconds, settings.tool_max_rounds,
                               settings.tool_result_max_tokens),
        vision=Vision(images, ImagePolicy(settings.vision_history_images, Detail(settings.image_detail)),
                      support=capabilities),
        models=models, limits=capabilities,
    )
    replies = Replies(redis, keys)
    listener = (Listener(model, ledger, counter, settings.transcription_model, observer=metrics,
                         longest_seconds=settings.voice_max_seconds) if settings.transcription else None)
    register(application, Services(
        conversation=conversation, history=history, personas=personas, pacer=Pacer(),
        persona_limit=PromptLimit(settings.persona_max_tokens, counter.count),
        cadence=Cadence(settings.stream_edit_interval, settings.stream_group_edit_interval, settings.stream_mode,
                        settings.delivery_give_up_seconds),
        replies=replies, allowlist=Allowlist(settings.allowed_user_ids, settings.allowed_chat_ids),
        gatekeeper=Gatekeeper(redis, keys, GroupAdministrators(application.bot)),
        group_settings_administrators_only=settings.group_settings_administrators_only, ledger=ledger,
        prices=prices, access=AccessLists(redis, keys), stats=stats,
        retention=Retention(settings.history_ttl_seconds, settings.settings_ttl_seconds, USAGE_TTL_SECONDS),
        messages_per_minute=settings.user_messages_per_minute, operators=settings.operator_ids, metrics=metrics,
        media=MediaRules(listener, settings.voice_max_seconds, counter, settings.document_max_tokens),
        files=files, reminders=reminders, reader=Reader(images, vision=settings.vision), notices=Notices(redis, keys),
        albums=Albums(redis, keys, window=settings.album_window_seconds),
        default_language=settings.default_language, models=models,
        latest=LatestAnswers(redis, keys, settings.history_ttl_seconds),
        edit_reanswer_seconds=settings.edit_reanswer_seconds,
        painter=painter,
    ))
    consumer = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
    stream = UpdateStream(redis, keys, consumer, metrics, concurrency=INGRESS_CONCURRENCY,
                          claim_idle_ms=int(settings.ingress_claim_idle_seconds * 1000))
    courier = ReminderCourier(reminders, application.bot, metrics)
    # A stdio server's error output joins the bot's own, except where logs must be one JSON object a line.
    mcp = McpServers(mcp_servers, toolbox, settings.tool_timeout_seconds,
                     server_stderr=sys.stderr if settings.log_format == "text" else None)
    return Runtime(settings, redis, keys, application, summarizer, metrics, stream, replies, model, requests,
                   courier, mcp, clients=(files,))


def _metered_models(settings: Settings) -> tuple[str, ...]:
    """The models whose token and cost series start at zero: every one users may choose, the summaries', and the
    transcriptions' and images' when those are on."""
    return tuple(dict.fromkeys((settings.openai_model, *(model for model, _ in settings.models),
                                settings.summary_model,
                                *((settings.transcription_model,) if settings.transcription else ()),
                                *((settings.image_model,) if settings.image_generation else ()))))


def _tool_factories(settings: Settings, reminders: RedisReminders, painter: Painter | None,
                    photos: PhotoOutbox) -> dict[str, ToolFactory]:
    """What each TOOLS name builds (generate_image only when IMAGE_GENERATION is on)."""
    factories: dict[str, ToolFactory] = {
        "time": lambda: [CurrentTime()],
        "reminders": lambda: reminder_tools(reminders, settings.reminders_per_chat, language=language.current),
        "fetch_url": lambda: [FetchUrl(allow_private=settings.tools_allow_private_networks)],
    }
    if settings.searxng_url:
        searxng = settings.searxng_url
        factories["web_search"] = lambda: [WebSearch(searxng)]
    if painter is not None:
        # Moderation, then the image call, each within OPENAI_TIMEOUT_SECONDS: longer than most tools take.
        seconds = max(settings.tool_timeout_seconds, 2 * settings.openai_timeout_seconds)
        factories["generate_image"] = lambda: [GenerateImage(painter, photos, seconds)]
    return factories


def _painter(settings: Settings, model: DeferredModel, quota: DailyImages, ledger: UsageLedger,
             metrics: Metrics) -> Painter | None:
    if not settings.image_generation:
        return None
    options = ImageOptions(settings.image_model, settings.image_size, settings.daily_images_per_user,
                           settings.operator_ids, settings.moderation_fail_closed)
    return Painter(model, quota, ledger, options, model if settings.moderation else None, observer=metrics)


def _reply_options(settings: Settings) -> ReplyOptions:
    return ReplyOptions(settings.openai_model, settings.temperature, settings.max_reply_tokens,
                        settings.context_max_tokens, settings.moderation_fail_closed)
