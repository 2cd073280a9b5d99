"""Local chat on llama.cpp (llama-cpp-python), with tool calls done in the prompt.

The model's own chat template (from the GGUF) renders the conversation. We render
and tokenize it here rather than through create_chat_completion so the usage
numbers are exact: we know the prompt tokens and how many of them llama.cpp
reuses from its KV cache (it keeps the longest common prefix with the previous
call, so a byte-identical system message is only evaluated once).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from llama_cpp import Llama, LlamaGrammar, LogitsProcessorList
from llama_cpp.llama_chat_format import ChatFormatterResponse, Jinja2ChatFormatter
from llama_cpp.llama_grammar import json_schema_to_gbnf

from . import kv_splice
from .base import (
    EngineError,
    LLMChunk,
    LLMRequest,
    Message,
    TextDelta,
    ToolCall,
    ToolCallStarted,
    ToolSchema,
    Usage,
)
from .grounding import grounded, last_user_text
from .llama_cache import SLOTS, LlamaCache, no_pause, shared_prefix
from .llama_prompt import echoes_a_request, prompt_messages
from .speakable import unspeakable_tokens

log = logging.getLogger(__name__)

# The hottest sampling used for the turn that speaks a tool's result.
RESULT_TEMPERATURE = 0.3
# The protocol's default temperature: a client asking for it gets the server's choice.
PROTOCOL_TEMPERATURE = 0.8


@dataclass(frozen=True)
class Sampling:
    """How the local model picks its tokens.

    Small models get facts wrong when sampled hot, so by default they decode
    greedily: the server's `temperature` is what a client asking for the protocol's
    default (0.8) gets, and a client's temperature scales it (a client asking for
    1.2 gets 1.5 times the server's). A mild repetition penalty keeps a cold
    decode from looping.
    """

    temperature: float = 0.0
    repeat_penalty: float = 1.1
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05

    def temperature_for(self, requested: float) -> float:
        return self.temperature * requested / PROTOCOL_TEMPERATURE


# The call score (`call_probability`) that makes a call, by whether the model is shown
# examples (the 1.5B is, the 0.5B not): calibrated with benchmarks/tool_calls.py
# --calibrate. The 1.5B's is low: its first token favours words even when it should
# call, and a call it chooses must still be grounded in the user's words, which keeps
# most false ones out. The 0.5B's calls are grounded even when wrong: only a sure
# score keeps them out.
CALL_PROBABILITY = {False: 0.83, True: 0.01}
# The score that makes a call when the user's words restate a request a tool's
# description quotes (llama_prompt.echoes_a_request): the tool's author said those words
# need it. The 1.5B answers "What day is it today?" in words, making a day up, though
# shown "What day is it?" calling get_time (scores 0.001-0.01).
ECHO_PROBABILITY = {False: 0.83, True: 0.001}
# A request without tools that the server's own tools would be called for (the call
# score of its words under the server's kept prompt) asks for a live fact: the reply
# opens by saying it cannot check, or the model makes the weather up. Weather and the
# time somewhere score 0.2-0.5 there, everyday questions under 0.01, "Is it cold in
# Antarctica?" 0.06.
NEEDS_A_TOOL = 0.1
CANNOT_CHECK = "I can't check that from here."


class LlamaLLM:
    """Not re-entrant: one llama.cpp context serves one stream at a time."""

    def __init__(self, model_path: str | Path, *, n_ctx: int = 4096,
                 n_threads: int | None = None, name: str = "llama.cpp",
                 sampling: Sampling | None = None, speakable_only: bool = True,
                 examples: bool = False, slots: int = SLOTS) -> None:
        """`speakable_only`: never write what an English voice cannot say (see speakable);
        `examples`: show right answers and an example call per tool (what the 1.5B
        model needs, see above); `slots`: how many sessions keep their place in the
        model (see llama_cache)."""
        threads = n_threads or os.cpu_count() or 1  # llama.cpp's default is half the cores
        self.name = name
        self.sampling = sampling or Sampling()
        self._examples = examples
        self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
        self._n_ctx = n_ctx
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise EngineError(f"{model_path} has no chat template in its metadata")
        eos = self._llm.token_eos()
        self._end_of_message = eos  # ends every message in the chat template
        self._cache = LlamaCache(self._llm, n_ctx, slots)
        self._splices = self._cache.can_shift
        self._approximate_from: int | None = None  # the cache past here: a splice's tail
        # The server-wide prompts kept read (`keep`): their system messages and tools.
        self._server_prompts: list[LLMRequest] = []
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=self._llm.detokenize([eos], special=True).decode(),
            bos_token=self._llm.detokenize([self._llm.token_bos()], special=True).decode(),
            stop_token_ids=[eos],
        )
        # Tokens that open a tool call, and tokens no spoken reply opens with
        # (JSON/code openers, blanks, end-of-turn). Found once, by scanning the vocab.
        pieces = [self._llm.detokenize([t]) for t in range(self._llm.n_vocab())]
        self.pieces = pieces  # each token's bytes, by id
        openings = [p.lstrip()[:1] for p in pieces]
        self._call_openers = np.array([t for t, o in enumerate(openings) if o == b"{"])
        self._not_speech = np.array([t for t, o in enumerate(openings)
                                     if o in (b"", b"{", b"`")])
        # Added to the scores of every token of speech: -inf where the voice cannot say it.
        self._speech_bias = np.zeros(len(pieces), np.float32)
        if speakable_only:
            self._speech_bias[unspeakable_tokens(pieces)] = -np.inf
        self._grammars: dict[str, LlamaGrammar] = {}

    def stream(self, request: LLMRequest, cancel: threading.Event) -> Iterator[LLMChunk]:
        if cancel.is_set():
            return
        tools, rendered, tokens = self._prompt(request)
        kept, spliced = self._reuse(tokens)
        cached = kept - spliced
        choice = request.tool_choice
        named = choice.get("name") if isinstance(choice, dict) else None
        # Right after a tool result the small model tends to call the tool again:
        # that turn is for speaking the result.
        after_result = bool(request.messages) and request.messages[-1]["role"] == "tool"
        callable_tools = {} if after_result else \
            {n: fn for n, fn in tools.items() if named in (None, n)}
        # A result is facts to relay: sampled hot, the 0.5B model drifts off them
        # ("glad you found that useful!") about one time in ten.
        temperature = self.sampling.temperature_for(request.temperature)
        if after_result:
            temperature = min(temperature, RESULT_TEMPERATURE)
        forced = bool(callable_tools) and (choice == "required" or bool(named))
        score = None if forced or not callable_tools else \
            self.call_probability(request, tokens, kept)
        threshold = CALL_PROBABILITY[self._examples]
        if echoes_a_request(last_user_text(request.messages), callable_tools):
            threshold = ECHO_PROBABILITY[self._examples]
        call = forced or (score is not None and score >= threshold)
        usage = Usage(input_tokens=len(tokens), cached_tokens=cached)
        if not tools and not after_result and self._needs_a_tool(request):
            yield TextDelta(CANNOT_CHECK)
            tokens = [*tokens, *self.tokenize(CANNOT_CHECK)]
        if call:
            yield ToolCallStarted(score, None if forced else threshold)
            made = self._call(tokens, rendered, callable_tools, cancel, usage)
            # A call the client demanded stands; one the model chose must be grounded.
            if made is not None and (forced or grounded(
                    made, callable_tools[made.name], last_user_text(request.messages))):
                yield made
                if not cancel.is_set():
                    self._remember()
                    yield usage
                return
            log.warning("unusable tool call %s; answering in words instead", made)
        for text in self._generate(tokens, rendered, request, temperature, cancel, usage):
            yield TextDelta(text)
        if not cancel.is_set():
            self._remember()
            yield usage

    def _remember(self) -> None:
        """Keep the session's place in the model: its conversation as read and answered,
        for its next turn after another session's (only an exact cache: see refresh)."""
        if self._approximate_from is None:
            self._cache.remember(self._llm.n_tokens)

    def call_probability(self, request: LLMRequest, tokens: list[int] | None = None,
                         kept: int = 0) -> float:
        """How likely a reply to the request opens a tool call: the model's probability
        of a JSON opener as its first token, after the system message (instructions,
        tools) and the user's last words alone. The conversation before them is left
        out: a small model follows its pattern, calling again after a tool's result
        and answering in words after small talk, whatever was asked. Read in the probe
        when there is a conversation (the words after the system message: ~0.2 s);
        without one, it is the prompt itself, read now for the reply."""
        if tokens is None:  # asked on its own: the cache readied as for a reply
            tokens = self._prompt(request)[2]
            kept = self._reuse(tokens)[0]
        alone = self._alone(request)
        if alone == tokens:
            self._cache.read(tokens, min(kept, len(tokens) - 1))
            logits = self._last_logits()
        else:
            logits = self._cache.probe(alone)
        return self._opens_a_call(logits)

    def _opens_a_call(self, logits: np.ndarray) -> float:
        """The probability, by `logits`, that the next token opens a tool call."""
        return float(_distribution(logits)[self._call_openers].sum())

    def _needs_a_tool(self, request: LLMRequest) -> bool:
        """Whether the server's own tools would be called for the user's words (read in
        the probe, from the server's kept prompt)."""
        server = self.kept_context(request)
        if server is None or not server.tools or not request.messages \
                or request.messages[-1]["role"] != "user":
            return False
        logits = self._cache.probe(self._alone(server))
        return self._opens_a_call(logits) >= NEEDS_A_TOOL

    def _alone(self, request: LLMRequest) -> list[int]:
        """The prompt of the request's system message and the user's last words alone."""
        system = [m for m in request.messages[:1] if m["role"] == "system"]
        users = [m for m in request.messages if m["role"] == "user"]
        return self._prompt(LLMRequest([*system, *users[-1:]], request.tools))[2]

    def _generate(self, tokens: list[int], rendered: ChatFormatterResponse, request: LLMRequest,
                  temperature: float, cancel: threading.Event, usage: Usage) -> Iterator[str]:
        """The reply in words: nothing that opens a call or that the voice cannot say."""
        chunks = self._llm.create_completion(
            prompt=tokens, stream=True, max_tokens=request.max_tokens,
            temperature=temperature, repeat_penalty=self.sampling.repeat_penalty,
            top_p=self.sampling.top_p, top_k=self.sampling.top_k, min_p=self.sampling.min_p,
            stop=rendered.stop,
            stopping_criteria=rendered.stopping_criteria,
            logits_processor=LogitsProcessorList([_SpeechOnly(
                len(tokens), self._not_speech, self._speech_bias)]),
        )
        try:
            for chunk in chunks:
                if cancel.is_set():
                    return
                text = chunk["choices"][0]["text"]  # type: ignore[index]
                usage.output_tokens += bool(text)  # one streamed piece per token
                if text:
                    yield text
        finally:
            chunks.close()  # type: ignore[union-attr]

    def _call(self, tokens: list[int], rendered: ChatFormatterResponse,
              tools: dict[str, ToolSchema], cancel: threading.Event,
              usage: Usage) -> ToolCall | None:
        """Write the tool call under a grammar: only known tools, schema-shaped arguments."""
        chunks = self._llm.create_completion(
            prompt=tokens, stream=True, max_tokens=256, temperature=0.0,
            stop=rendered.stop, stopping_criteria=rendered.stopping_criteria,
            grammar=self._grammar(tools))
        text = ""
        try:
            for chunk in chunks:
                if cancel.is_set():
                    return None
                text += chunk["choices"][0]["text"]  # type: ignore[index]
                usage.output_tokens += 1
        finally:
            chunks.close()  # type: ignore[union-attr]
        try:
            obj = json.loads(text)
        except ValueError:
            return None  # cut off by max_tokens
        return ToolCall(name=obj["name"], arguments=json.dumps(obj["arguments"],
                                                               ensure_ascii=False),
                        call_id=f"call_{uuid.uuid4().hex[:24]}")

    def _grammar(self, tools: dict[str, ToolSchema]) -> LlamaGrammar:
        schema = {"oneOf": [
            {"type": "object", "additionalProperties": False, "required": ["name", "arguments"],
             "properties": {"name": {"const": name},
                            "arguments": fn.get("parameters") or {"type": "object"}}}
            for name, fn in tools.items()]}
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            gbnf = json_schema_to_gbnf(key, prop_order=["name", "arguments"])
            self._grammars[key] = LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[key]

    def prefill(self, request: LLMRequest, pause: Callable[[], None] = no_pause) -> None:
        self._read(self._prompt(request)[2], pause)

    def keep(self, request: LLMRequest) -> None:
        """Read the request's system message (instructions, tools) now and keep it read:
        a later prompt that starts like it finds it in the cache (see llama_cache)."""
        tokens = self._prompt(request)[2]
        tokens = tokens[:tokens.index(self._end_of_message) + 1] \
            if self._end_of_message in tokens else tokens
        if self._approximate_from is not None:  # keep only what is exact
            self._llm.n_tokens = min(self._llm.n_tokens, self._approximate_from)
            self._approximate_from = None
        self._cache.keep(tokens)
        system = [m for m in request.messages[:1] if m["role"] == "system"]
        self._server_prompts.append(LLMRequest(system, request.tools, request.tool_choice))

    def kept_context(self, request: LLMRequest) -> LLMRequest | None:
        """`request` with the system message and tools of the first server-wide prompt
        kept read instead of its own (None if none is kept)."""
        if not self._server_prompts:
            return None
        kept = self._server_prompts[0]
        rest = [m for m in request.messages if m["role"] != "system"]
        return LLMRequest([*kept.messages, *rest], kept.tools, kept.tool_choice,
                          request.temperature, request.max_tokens)

    def _read(self, tokens: list[int], pause: Callable[[], None] = no_pause) -> None:
        """Evaluate `tokens`, reusing the cache for what they share with it (at least
        the last token is read again, so its logits are fresh); `pause()` runs between
        chunks of what is read."""
        cached, _ = self._reuse(tokens, pause)
        self._cache.read(tokens, cached, pause)

    def _reuse(self, tokens: list[int], pause: Callable[[], None] = no_pause
               ) -> tuple[int, int]:
        """Ready the cache for `tokens`: from what the main sequence holds, or from a kept
        prompt if that leaves less to read; new instructions before cached tools are
        spliced in (see kv_splice). Returns how much of the cache they keep (the rest is
        read again, exactly) and how many tokens the splice read."""
        self._cache.clear_probe()
        main = self._cache.main
        best = min([(*self._to_read(main, tokens), None),
                    *((*self._to_read(k.tokens, tokens), k) for k in self._cache.kept)],
                   key=lambda option: (option[0], option[1] is not None, option[2] is not None))
        _, splice, kept = best
        if kept is not None:
            self._cache.load(kept)
            self._approximate_from = None
        cached = self._cache.main
        read = 0
        if splice is not None:
            kv_splice.apply(self._llm, splice, tokens, self._cache.pausing(splice.head, pause))
            self._approximate_from = splice.new_middle_end
            cached, read = tokens[:splice.spliced_end], splice.new_middle_end - splice.head
        kept_length = _common_prefix(cached, tokens)
        if self._approximate_from is not None and kept_length <= self._approximate_from:
            self._approximate_from = None
        return kept_length, read

    def _to_read(self, cached: list[int], tokens: list[int]
                 ) -> tuple[int, kv_splice.Splice | None]:
        """How many of `tokens` a cache holding `cached` leaves to read, and the splice
        that does it (None: read past what they share)."""
        splice = kv_splice.plan(cached, tokens, self._end_of_message) if self._splices else None
        if splice is None:
            return len(tokens) - _common_prefix(cached, tokens), None
        return len(tokens) - splice.spliced_end + splice.new_middle_end - splice.head, splice

    def refresh(self, stop: Callable[[], bool]) -> None:
        """In idle time: make a spliced cache exact, then remember it (a session's
        instructions, tools and conversation) for its next turn, and for the next
        session that starts like it."""
        if self._approximate_from is not None and \
                kv_splice.reread(self._llm, self._approximate_from, stop):
            self._approximate_from = None
        if self._approximate_from is None and not stop():
            self._remember()

    def render(self, request: LLMRequest) -> str:
        """The prompt text a `stream` of this request reads."""
        return self._prompt(request)[1].prompt

    def tokenize(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode(), add_bos=False, special=True)

    def uncached(self, prompt: str) -> int:
        """How many tokens of `prompt` (text in the chat template) reading it would cost."""
        return self._cache.uncached(self.tokenize(prompt))

    def next_token_probabilities(self, prompt: str, then: Sequence[int] = (),
                                 beside: bool = False) -> np.ndarray:
        """The model's distribution for the token after `prompt` (text in the chat
        template) and the tokens `then`, read through the KV cache: a prompt that starts
        like the cached one costs only its new tokens, and the cache keeps what they share.
        `beside` (and always while a read of the cache is paused): read in the probe,
        leaving the cache as it is."""
        tokens = [*self.tokenize(prompt), *then]
        if beside or self._cache.paused_at is not None:
            logits = self._cache.probe(tokens)
        else:
            self._read(tokens)
            logits = self._last_logits()
        return _distribution(logits)

    def _last_logits(self) -> np.ndarray:
        """The logits after the last token the context read."""
        return np.ctypeslib.as_array(self._llm._ctx.get_logits(), shape=(self._llm.n_vocab(),))

    def _prompt(self, request: LLMRequest
                ) -> tuple[dict[str, ToolSchema], ChatFormatterResponse, list[int]]:
        tools = {fn["name"]: fn for fn in (t.get("function", t) for t in request.tools)}
        rendered, tokens = self._render(prompt_messages(request.messages, tools, self._examples),
                                        room=min(request.max_tokens or 512, self._n_ctx // 4))
        return tools, rendered, tokens

    def _render(self, messages: list[Message], room: int
                ) -> tuple[ChatFormatterResponse, list[int]]:
        """Prompt text and tokens, forgetting the oldest turns if the context is full."""
        while True:
            rendered = self._formatter(messages=messages)
            tokens = self._llm.tokenize(rendered.prompt.encode(), add_bos=False, special=True)
            if len(tokens) + room <= self._n_ctx or len(messages) <= 2:
                return rendered, tokens
            # Keep the system message: the cached persona prefix stays valid.
            del messages[1 if messages[0]["role"] == "system" else 0]


class _SpeechOnly:
    """Logits processor for a reply in words: its first token opens no call (nor a
    blank, nor code), and no token is one the voice cannot say (`speech_bias` is -inf
    there)."""

    def __init__(self, prompt_len: int, not_speech: np.ndarray,
                 speech_bias: np.ndarray) -> None:
        self._prompt_len = prompt_len
        self._not_speech = not_speech
        self._speech_bias = speech_bias

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        masked = scores + self._speech_bias
        if len(input_ids) == self._prompt_len:
            masked[self._not_speech] = -np.inf
        return masked


def _distribution(logits: np.ndarray) -> np.ndarray:
    probs = np.exp(logits - logits.max())
    return probs / probs.sum()


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    # llama.cpp re-evaluates the last prompt token to get fresh logits.
    return min(shared_prefix(a, b), len(b) - 1)
