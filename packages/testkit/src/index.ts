export {
  startTestServer,
  listenOnLoopback,
  readBody,
  sendJson,
  type TestServer,
  type TestHandler,
  type RecordedRequest,
} from './http-server';
