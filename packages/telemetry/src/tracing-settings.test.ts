import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tracingSettings } from './tracing-settings.ts';

describe('tracing settings: the config section and the OTEL_* variables', () => {
  test('nothing set: spans are not exported and new traces are sampled at the config ratio (1)', () => {
    const s = tracingSettings({}, {});
    assert.equal(s.disabled, false);
    assert.equal(s.endpoint, undefined);
    assert.equal(s.endpointFrom, 'none');
    assert.equal(s.sampleRatio, 1);
    assert.deepEqual(s.warnings, []);
  });

  test('OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: /v1/traces is appended', () => {
    const s = tracingSettings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' });
    assert.equal(s.endpoint, 'http://jaeger:4318/v1/traces');
    assert.equal(s.endpointFrom, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  test('the config key is the traces endpoint itself and wins over the generic variable', () => {
    const s = tracingSettings(
      { otlp_traces_endpoint: 'http://collector:4318/v1/traces' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' },
    );
    assert.equal(s.endpoint, 'http://collector:4318/v1/traces');
    assert.equal(s.endpointFrom, 'telemetry.otlp_traces_endpoint');
  });

  test('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT wins over the config key and the generic variable', () => {
    const s = tracingSettings(
      { otlp_traces_endpoint: 'http://collector:4318/v1/traces' },
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://other:4318/custom/path',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      },
    );
    assert.equal(s.endpoint, 'http://other:4318/custom/path');
    assert.equal(s.endpointFrom, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  });

  test('an empty variable counts as unset', () => {
    const s = tracingSettings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_TRACES_SAMPLER: ' ' });
    assert.equal(s.endpoint, undefined);
    assert.equal(s.sampleRatio, 1);
  });

  test('OTEL_SDK_DISABLED=true: nothing is exported, whatever else is set', () => {
    const s = tracingSettings(
      { otlp_traces_endpoint: 'http://collector:4318/v1/traces' },
      { OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' },
    );
    assert.equal(s.disabled, true);
    assert.equal(s.endpoint, undefined);
    assert.equal(s.console, false);
  });

  test('OTEL_SDK_DISABLED other than true leaves tracing on', () => {
    assert.equal(tracingSettings({}, { OTEL_SDK_DISABLED: 'false' }).disabled, false);
    assert.equal(tracingSettings({}, { OTEL_SDK_DISABLED: '1' }).disabled, false);
  });

  const exporterCases = [
    {
      name: 'OTEL_TRACES_EXPORTER=none: no export even with an endpoint',
      env: { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' },
      endpoint: undefined,
      console: false,
    },
    {
      name: 'OTEL_TRACES_EXPORTER=console,otlp: both; an exporter not shipped is a warning',
      env: { OTEL_TRACES_EXPORTER: 'console,otlp,zipkin', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' },
      endpoint: 'http://jaeger:4318/v1/traces',
      console: true,
      warning: /zipkin is not shipped/,
    },
    {
      name: 'OTEL_TRACES_EXPORTER=console alone: printed, not sent',
      env: { OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://j:4318' },
      endpoint: undefined,
      console: true,
    },
  ];
  for (const c of exporterCases) {
    test(c.name, () => {
      const s = tracingSettings({}, c.env);
      assert.equal(s.endpoint, c.endpoint);
      assert.equal(s.console, c.console);
      if (c.warning) assert.match(s.warnings.join('\n'), c.warning);
    });
  }

  test('an OTLP protocol other than http/json is a warning; traces still go as http/json', () => {
    const s = tracingSettings(
      {},
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://j:4318' },
    );
    assert.equal(s.endpoint, 'http://j:4318/v1/traces');
    assert.match(s.warnings.join('\n'), /grpc is not shipped/);
    const json = tracingSettings({}, { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' });
    assert.deepEqual(json.warnings, []);
  });

  test('OTEL_TRACES_SAMPLER set: NodeSDK reads the sampler, the config ratio is not used', () => {
    const s = tracingSettings({ trace_sample_ratio: 0.25 }, { OTEL_TRACES_SAMPLER: 'always_off' });
    assert.equal(s.sampleRatio, undefined);
  });

  test('OTEL_TRACES_SAMPLER unset: the config ratio applies to new traces', () => {
    assert.equal(tracingSettings({ trace_sample_ratio: 0.25 }, {}).sampleRatio, 0.25);
  });

  test('OTEL_NODE_RESOURCE_DETECTORS set: NodeSDK chooses the detectors', () => {
    assert.equal(tracingSettings({}, { OTEL_NODE_RESOURCE_DETECTORS: 'all' }).customDetectors, true);
    assert.equal(tracingSettings({}, {}).customDetectors, false);
  });
});
