import { attachedLayers, systemClock } from '@axios-resilience/core';
import axios from 'axios';
import { attachIdempotency, createReuseGuard, DEFAULT_IDEMPOTENCY_OPTIONS, resolveIdempotencyOptions } from '../src';

describe('resolveIdempotencyOptions', () => {
  it('fills in the documented defaults', () => {
    const resolved = resolveIdempotencyOptions();
    expect(resolved.headerName).toBe('Idempotency-Key');
    expect(resolved.methods).toEqual(['POST', 'PUT', 'PATCH', 'DELETE']);
    expect(resolved.format).toBe('raw');
    expect(resolved.maxKeyLength).toBe(255);
    expect(resolved.guard).toEqual({ maxEntries: 10_000, maxAgeMs: 86_400_000, clock: systemClock });
    expect(resolved.generateKey()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(DEFAULT_IDEMPOTENCY_OPTIONS.methods).toEqual(resolved.methods);
    expect(Object.isFrozen(DEFAULT_IDEMPOTENCY_OPTIONS)).toBe(true);
  });

  it('upper-cases methods and keeps a shared guard as it is', () => {
    const guard = createReuseGuard();
    const resolved = resolveIdempotencyOptions({ methods: ['post', 'Patch'], guard });
    expect(resolved.methods).toEqual(['POST', 'PATCH']);
    expect(resolved.guard).toBe(guard);
    expect(resolveIdempotencyOptions({ guard: false }).guard).toBe(false);
  });

  it.each([
    [{ headerName: '' }, /^headerName: expected a non-empty string, got ""/],
    [{ headerName: 'Idempotency Key' }, /^headerName: expected a valid HTTP header name, got "Idempotency Key"/],
    [{ methods: 'POST' }, /^methods: expected an array of HTTP methods, got "POST"/],
    [{ methods: ['POST', 3] }, /^methods\[1\]: expected an HTTP method name such as "POST", got 3/],
    [{ generateKey: 'uuid' }, /^generateKey: expected a function, got "uuid"/],
    [{ format: 'quoted' }, /^format: expected one of 'raw', 'structured', got "quoted"/],
    [{ maxKeyLength: 0 }, /^maxKeyLength: expected a positive integer, got 0/],
    [
      { guard: true },
      /^guard: expected limits \{ maxEntries, maxAgeMs \}, a guard from createReuseGuard, or false, got true/,
    ],
    [{ guard: { maxEntries: -1 } }, /^guard.maxEntries: expected a positive integer, got -1/],
    [{ guard: { maxAgeMs: Infinity } }, /^guard.maxAgeMs: expected a finite number > 0, got Infinity/],
    [{ guard: { maxSize: 10 } }, /^guard.maxSize: unknown option/],
    [{ clock: Date }, /^clock: expected a clock with a now\(\) method, got a function/],
    [{ headerNmae: 'X-Key' }, /^headerNmae: unknown option \(known: headerName, methods/],
  ])('throws a TypeError naming the option for %j', (options, message) => {
    expect(() => resolveIdempotencyOptions(options as never)).toThrow(TypeError);
    expect(() => resolveIdempotencyOptions(options as never)).toThrow(message);
  });

  it('refuses bad options at attach time, before any request', () => {
    const instance = axios.create();
    expect(() => attachIdempotency(instance, { format: 'sf' as never })).toThrow(TypeError);
    expect(() => attachIdempotency({} as never)).toThrow(/^instance: expected an axios instance/);
    expect(attachedLayers(instance)).toEqual([]);
  });
});
