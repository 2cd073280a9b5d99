"""Builds the configured brain from settings: each stage local or HTTP."""

from __future__ import annotations

import asyncio
import logging

from vivavoce.brains.cascade import Cascade
from vivavoce.engines.base import LLM, STT, TTS, VAD, EndOfTurn
from vivavoce.personas import get_persona
from vivavoce.settings import Settings
from vivavoce.tools import builtin
from vivavoce.types import ResponseRequest

log = logging.getLogger(__name__)


def _url(settings: Settings, stage: str) -> str:
    url = getattr(settings, f"{stage}_url")
    if not url:
        raise SystemExit(f"--{stage} http needs --{stage}-url (or OPENAI_BASE_URL)")
    return url


def build_vad() -> VAD:
    from vivavoce.engines.silero_vad import SileroVAD
    from vivavoce.models.locate import model_path

    return SileroVAD(model_path("vad"))


def build_stt(settings: Settings) -> STT:
    if settings.stt == "http":
        from vivavoce.engines.openai_http_stt import OpenAIHTTPSTT

        return OpenAIHTTPSTT(_url(settings, "stt"), settings.http_api_key, settings.stt_model,
                             timeout=settings.stt_timeout_s)
    from vivavoce.engines.whisper_stt import WhisperSTT
    from vivavoce.models.locate import model_path

    return WhisperSTT(model_path("stt"), cpu_threads=settings.stt_threads,
                      short_window=settings.stt_short_window)


def build_llm(settings: Settings) -> LLM:
    if settings.llm == "http":
        from vivavoce.engines.openai_http_llm import OpenAIHTTPLLM

        return OpenAIHTTPLLM(_url(settings, "llm"), settings.http_api_key,
                             settings.llm_model or "gpt-4o-mini", timeout=settings.llm_timeout_s)
    from vivavoce.engines.llama_llm import LlamaLLM, Sampling
    from vivavoce.models.catalog import CATALOG
    from vivavoce.models.locate import model_path

    name = local_llm(settings)
    sampling = Sampling(temperature=settings.llm_temperature,
                        repeat_penalty=settings.llm_repeat_penalty)
    return LlamaLLM(model_path(name), n_threads=settings.llm_threads, name=name,
                    sampling=sampling, examples=CATALOG[name].examples,
                    slots=settings.llm_slots)


def local_llm(settings: Settings) -> str:
    """The catalog name of the local LLM these settings ask for."""
    from vivavoce.models.catalog import DEFAULT_LLM, LLMS

    name = settings.llm_model or DEFAULT_LLM
    if name not in LLMS:
        raise SystemExit(f"--llm-model {name!r} is not a local model; choose one of: "
                         f"{', '.join(LLMS)} (or use --llm http)")
    return name


def build_tts(settings: Settings) -> TTS:
    if settings.tts == "http":
        from vivavoce.engines.openai_http_tts import OpenAIHTTPTTS

        return OpenAIHTTPTTS(_url(settings, "tts"), settings.http_api_key, settings.tts_model,
                             timeout=settings.tts_timeout_s)
    from vivavoce.engines.piper_tts import PiperTTS
    from vivavoce.models.locate import model_path

    return PiperTTS(model_path("tts"), threads=settings.tts_threads)


def build_end_of_turn(settings: Settings, llm: LLM) -> EndOfTurn | None:
    """The local LLM scores ends of turns itself (same model, same cache); an HTTP one
    cannot (the cascade then guesses from punctuation)."""
    if settings.llm == "http":
        return None
    from vivavoce.engines.llama_end_of_turn import LlamaEndOfTurn
    from vivavoce.engines.llama_llm import LlamaLLM

    assert isinstance(llm, LlamaLLM)
    return LlamaEndOfTurn(llm)


def build_cascade(settings: Settings) -> Cascade:
    stt, llm, tts = build_stt(settings), build_llm(settings), build_tts(settings)
    end_of_turn = build_end_of_turn(settings, llm)
    log.info("cascade: stt=%s llm=%s tts=%s end of turn=%s", stt.name, llm.name, tts.name,
             end_of_turn.name if end_of_turn else "punctuation")
    return Cascade(stt, llm, tts, end_of_turn)


def warm_up(cascade: Cascade, settings: Settings) -> None:
    """Before the first caller: the server-wide prompt of each way in read and kept in
    the LLM's cache (the default persona's instructions and tools; a phone call's has
    its end_call too, after them, as runtime/setup offers it), and each engine's first,
    slowest call made. The first turn after a start would otherwise wait seconds."""
    persona = get_persona(settings.persona)
    prompts = [ResponseRequest(response_id="warm_up",
                               instructions=settings.instructions or persona.instructions,
                               items=[], tools=builtin.registry.schemas(names))
               for names in (persona.tools, (*persona.tools, "end_call"))]
    asyncio.run(cascade.warm_up(prompts, stt=settings.stt == "local",
                                tts=settings.tts == "local"))
