import assert from "node:assert/strict";
import { ByteBuffer } from "../../src/byte_buffer.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (buffer: ByteBuffer) => decoder.decode(buffer.copy());

Deno.test("a byte buffer grows past its first size and keeps what it held, in order", () => {
  const buffer = new ByteBuffer();
  const pieces = Array.from({ length: 300 }, (_, index) => `piece ${index};`);
  for (const piece of pieces) buffer.append(encoder.encode(piece));
  assert.equal(text(buffer), pieces.join(""));
  assert.ok(buffer.bytes.length >= buffer.length);
});

Deno.test("a byte buffer appends a part of an array, drops its front, and is reused once cleared", () => {
  const buffer = new ByteBuffer();
  buffer.append(encoder.encode("0123456789"), 2, 6);
  assert.equal(text(buffer), "2345");
  buffer.dropFront(1);
  assert.equal(text(buffer), "345");
  const array = buffer.bytes;
  buffer.clear();
  buffer.append(encoder.encode("again"));
  assert.equal(text(buffer), "again");
  assert.equal(buffer.bytes, array);
});

Deno.test("a copy of a byte buffer stays as it was when the buffer changes", () => {
  const buffer = new ByteBuffer();
  buffer.append(encoder.encode("first"));
  const copy = buffer.copy();
  buffer.clear();
  buffer.append(encoder.encode("other"));
  assert.equal(decoder.decode(copy), "first");
});
