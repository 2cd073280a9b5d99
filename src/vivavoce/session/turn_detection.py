"""Server VAD turn detection over speech probabilities, on the audio timeline.

Pure state: frames and their probabilities in, speech start/stop out. Time is
the input audio's own timeline (ms since the session's first sample), so a
client streaming faster or slower than real time gets the same turns.
"""

from __future__ import annotations

from dataclasses import dataclass

# Below threshold minus this the frame counts as silence (hysteresis, as Silero
# recommends), so a voice hovering near the threshold does not flap.
HYSTERESIS = 0.15
# Speech must last this long before a turn starts: one noisy frame is no turn.
MIN_SPEECH_MS = 64


@dataclass
class SpeechStarted:
    audio_start_ms: int  # includes prefix padding
    voiced_ms: int  # where the voice itself began
    detected_ms: int  # when enough of it had been heard


@dataclass
class SpeechPaused:
    """The voice has been silent a short while: a good moment to transcribe early."""

    silence_start_ms: int


@dataclass
class SpeechResumed:
    """The voice came back after a pause: whatever was started at the pause is stale."""

    audio_ms: int


@dataclass
class SpeechStopped:
    audio_end_ms: int  # where the silence began: the true end of speech
    detected_ms: int  # when the silence window ran out


TurnEvent = SpeechStarted | SpeechPaused | SpeechResumed | SpeechStopped
# A pause this long inside a turn starts a speculative transcription: two silent VAD
# frames. Started at 100 ms it began 150 ms after the voice (median, bench); at 64,
# 72 ms. A pause the voice ends only costs the CPU an unused transcription.
PAUSE_MS = 64


class TurnDetector:
    def __init__(self, threshold: float, prefix_padding_ms: int, silence_ms: int) -> None:
        self.threshold = threshold
        self.prefix_padding_ms = prefix_padding_ms
        self.silence_ms = silence_ms
        self.speaking = False
        self._voiced_since: int | None = None
        self._silent_since: int | None = None
        self._paused = False

    def feed(self, probability: float, frame_start_ms: int, frame_end_ms: int) -> TurnEvent | None:
        if not self.speaking:
            if probability >= self.threshold:
                if self._voiced_since is None:
                    self._voiced_since = frame_start_ms
                if frame_end_ms - self._voiced_since >= MIN_SPEECH_MS:
                    self.speaking = True
                    self._silent_since = None
                    start = max(0, self._voiced_since - self.prefix_padding_ms)
                    return SpeechStarted(audio_start_ms=start, voiced_ms=self._voiced_since,
                                         detected_ms=frame_end_ms)
            else:
                self._voiced_since = None
            return None
        if probability < self.threshold - HYSTERESIS:
            if self._silent_since is None:
                self._silent_since = frame_start_ms
            silent_for = frame_end_ms - self._silent_since
            if silent_for >= self.silence_ms:
                end = self._silent_since
                self.reset()
                return SpeechStopped(audio_end_ms=end, detected_ms=frame_end_ms)
            if silent_for >= PAUSE_MS and not self._paused and self.silence_ms > PAUSE_MS + 100:
                self._paused = True
                return SpeechPaused(silence_start_ms=self._silent_since)
        elif probability >= self.threshold:
            self._silent_since = None
            if self._paused:
                self._paused = False
                return SpeechResumed(audio_ms=frame_start_ms)
        return None

    @property
    def voiced(self) -> bool:
        """Inside a turn, with the voice heard just now (not in a pause)."""
        return self.speaking and self._silent_since is None

    def reset(self) -> None:
        self._paused = False
        self.speaking = False
        self._voiced_since = None
        self._silent_since = None
