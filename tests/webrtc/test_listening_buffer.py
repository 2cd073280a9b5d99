"""The server's jitter buffer for a caller's microphone: nothing held until the path
reorders, a restarted stream followed."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from vivavoce.transports.webrtc.media import ListeningBuffer, listener_buffer


def packet(seq: int) -> RtpPacket:
    p = RtpPacket(payload_type=111, sequence_number=seq & 0xFFFF, timestamp=seq * 960)
    p._data = bytes([seq & 0xFF])  # what the receiver's depayloader leaves on it
    return p


def released(buffer, seqs: list[int]) -> list[int]:
    out = []
    for seq in seqs:
        pli, frame = buffer.add(packet(seq))
        assert pli is False
        out.append(None if frame is None else frame.timestamp // 960)
    return out


def test_every_packet_in_order_is_released_as_it_arrives():
    assert released(ListeningBuffer(), [10, 11, 12, 13]) == [10, 11, 12, 13]
    # What it replaces: aiortc's buffer releases a frame only once the next is in.
    assert released(listener_buffer(), [10, 11, 12, 13]) == [None, 10, 11, 12]


def test_a_late_packet_is_dropped_and_then_the_call_keeps_reorder_room():
    buffer = ListeningBuffer()
    assert released(buffer, [1, 2, 4, 3]) == [1, 2, 4, None]
    # From now on a frame waits for the packet after it, as in a browser, so a packet
    # that overtakes another no longer costs audio: 5, 6 and 7 all reach the decoder.
    assert released(buffer, [5, 7, 6, 8, 9]) == [None, None, 5, 6, 7]


def test_sequence_numbers_wrap_and_a_restarted_stream_is_followed():
    assert released(ListeningBuffer(), [65534, 65535, 0, 1]) == [65534, 65535, 0, 1]
    assert released(ListeningBuffer(), [500, 501, 200, 201]) == [500, 501, 200, 201]


def test_a_packet_seen_twice_goes_to_the_decoder_once():
    assert released(ListeningBuffer(), [7, 8, 8, 9]) == [7, 8, None, 9]
