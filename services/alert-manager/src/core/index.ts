export { type ChainLink, type Explanation, explain, reasonsInForce } from './explain.ts';
export { headline, type SlackBody, slackBody, type WebhookBody, webhookBody } from './format.ts';
export {
  addSilence,
  checkSilence,
  initialRoutingState,
  mayNotify,
  type Notification,
  openAlerts,
  type RoutingConfig,
  type RoutingState,
  resolves,
  route,
  type Silence,
  type SinkConfig,
  silenceMatches,
} from './notify.ts';
export { BoundedBuffer, filterProblems, matches, type StreamFilter, type StreamMessage } from './stream.ts';
