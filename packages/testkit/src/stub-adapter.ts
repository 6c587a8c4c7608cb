import {
  AxiosError,
  AxiosHeaders,
  type AxiosAdapter,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';

/** What a stub answers for one attempt: a response, or a network failure with an error code. */
export type StubReply =
  | { status: number; headers?: Record<string, string>; data?: unknown; delayMs?: number }
  | { networkError: string; delayMs?: number };

export type StubHandler = (config: InternalAxiosRequestConfig, callIndex: number) => StubReply | Promise<StubReply>;

export interface StubAdapter extends AxiosAdapter {
  /** The configs of every attempt that reached the adapter, in order. */
  calls: InternalAxiosRequestConfig[];
}

/**
 * An axios adapter that answers from a function instead of the network, with axios's own settle rules
 * (`validateStatus`, `ERR_BAD_REQUEST` / `ERR_BAD_RESPONSE`), for unit tests of decisions and timing.
 * A `delayMs` waits on the global timers, so fake timers drive it.
 */
export function stubAdapter(handler: StubHandler): StubAdapter {
  const calls: InternalAxiosRequestConfig[] = [];
  const adapter = (async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    const callIndex = calls.length;
    calls.push(config);
    const reply = await handler(config, callIndex);
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if ('networkError' in reply) {
      throw new AxiosError(`stub network failure ${reply.networkError}`, reply.networkError, config, {});
    }
    const response: AxiosResponse = {
      status: reply.status,
      statusText: String(reply.status),
      headers: new AxiosHeaders(reply.headers ?? {}),
      data: reply.data ?? null,
      config,
      request: {},
    };
    const validate = config.validateStatus;
    if (!validate || validate(reply.status)) return response;
    throw new AxiosError(
      `Request failed with status code ${reply.status}`,
      reply.status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST,
      config,
      {},
      response,
    );
  }) as StubAdapter;
  adapter.calls = calls;
  return adapter;
}
