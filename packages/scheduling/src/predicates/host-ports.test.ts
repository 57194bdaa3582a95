import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster } from '../cluster.ts';
import { podFitsNode } from '../filter.ts';
import { bound, node, pod } from '../fixtures.ts';
import type { HostPort } from '../types.ts';

function given(ports: HostPort[]) {
  return new Cluster({ nodes: [node('n1')], pods: [bound('x', 'n1', { hostPorts: ports })] });
}
const wants = (ports: HostPort[]) => pod('p', { hostPorts: ports });

describe('host ports predicate', () => {
  test('the same port and protocol on the whole node conflicts, naming the holder', () => {
    assert.deepEqual(podFitsNode(given([{ port: 8080 }]), wants([{ port: 8080, protocol: 'TCP' }]), 'n1'), {
      predicate: 'host_ports',
      message: 'host port 8080/TCP in use by default/x',
    });
  });

  test('another protocol or port does not conflict', () => {
    assert.equal(
      podFitsNode(given([{ port: 8080 }]), wants([{ port: 8080, protocol: 'UDP' }]), 'n1'),
      undefined,
    );
    assert.equal(podFitsNode(given([{ port: 8080 }]), wants([{ port: 8081 }]), 'n1'), undefined);
  });

  test('host IPs: 0.0.0.0 or none overlaps every address, two different addresses do not', () => {
    const on = (ip: string) => [{ port: 53, protocol: 'UDP', hostIP: ip }];
    assert.equal(podFitsNode(given(on('10.0.0.1')), wants(on('10.0.0.2')), 'n1'), undefined);
    assert.equal(podFitsNode(given(on('10.0.0.1')), wants(on('10.0.0.1')), 'n1')?.predicate, 'host_ports');
    assert.equal(podFitsNode(given(on('0.0.0.0')), wants(on('10.0.0.2')), 'n1')?.predicate, 'host_ports');
    assert.equal(
      podFitsNode(given([{ port: 53, protocol: 'UDP' }]), wants(on('10.0.0.2')), 'n1')?.predicate,
      'host_ports',
    );
  });

  test('a port freed by an unplaced pod is free again', () => {
    const c = given([{ port: 8080 }]);
    c.unplace(c.findPod('default/x')!);
    assert.equal(podFitsNode(c, wants([{ port: 8080 }]), 'n1'), undefined);
  });
});
