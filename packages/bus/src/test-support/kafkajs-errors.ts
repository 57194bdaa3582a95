/**
 * kafkajs errors as kafkajs 2.2.4 (with our patch) throws them, for the tests of how the bus
 * reads them. Their real counterparts: packages/service/src/secure-transport.int.test.ts and
 * packages/bus/src/outage.int.test.ts.
 */
import kafkajs from 'kafkajs';

const { KafkaJSConnectionError, KafkaJSGroupCoordinatorNotFound, KafkaJSProtocolError } = kafkajs;

/** The class as it is (kafkajs' typings give its constructor no arguments). */
const CoordinatorNotFound = KafkaJSGroupCoordinatorNotFound as unknown as new (
  message: string,
  options: { cause: Error },
) => Error;

/** A coordinator lookup that failed, the last broker answer kept as its cause (our patch). */
export function coordinatorNotFound(cause: Error): Error {
  return new CoordinatorNotFound('Failed to find group coordinator', { cause });
}

/** The broker's answer to FindCoordinator for a user without a Read ACL on the group. */
export function groupAuthorizationFailed(): Error {
  return new KafkaJSProtocolError({
    message: 'Not authorized to access group: Group authorization failed',
    type: 'GROUP_AUTHORIZATION_FAILED',
    code: 30,
    retriable: false,
  } as unknown as Error);
}

/** A broker that closed the connection mid-request (a Kafka stopping). */
export function connectionClosed(): Error {
  return new KafkaJSConnectionError('Connection closed', { broker: '127.0.0.1:9092' } as never);
}
