export {
  startTestServer,
  listenOnLoopback,
  readBody,
  sendJson,
  type TestServer,
  type TestHandler,
  type RecordedRequest,
} from './http-server';
export { stubAdapter, type StubAdapter, type StubHandler, type StubReply } from './stub-adapter';
